import { useState } from 'preact/hooks';

export interface ActionMessage {
  text: string;
  error: boolean;
}

/**
 * An admin change from a panel: runs the call, shows what it returned (or
 * why it failed) and reloads the panel's list either way.
 */
export function useAdminAction(reload: () => void) {
  const [message, setMessage] = useState<ActionMessage | undefined>();
  const act = async (call: () => Promise<string | undefined>) => {
    try {
      const text = await call();
      if (text) setMessage({ text, error: false });
      reload();
    } catch (failure) {
      setMessage({ text: (failure as Error).message, error: true });
    }
  };
  return { message, setMessage, act };
}

/** The outcome of the last admin change: an alert when it failed. */
export function ActionOutcome({ message }: { message: ActionMessage | undefined }) {
  if (!message) return null;
  return (
    <p class={message.error ? 'error' : 'dim'} role={message.error ? 'alert' : 'status'}>
      {message.text}
    </p>
  );
}
