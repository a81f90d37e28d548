import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { SessionResponse, UiPermission } from '@api/session';
import { api, setCsrfToken } from '../api/client';

function adopt(session: SessionResponse): SessionResponse {
  setCsrfToken(session.csrfToken);
  return session;
}

/** The current session, or undefined when there is none. */
export async function loadSession(): Promise<SessionResponse | undefined> {
  try {
    return adopt(await api<SessionResponse>('/api/v1/session'));
  } catch {
    return undefined;
  }
}

/** Exchanges an API key (or admin or OIDC token) for a session cookie. */
export async function logIn(token: string): Promise<SessionResponse> {
  return adopt(await api<SessionResponse>('/api/v1/session', { method: 'POST', body: { token } }));
}

export async function logOut(): Promise<void> {
  await api('/api/v1/session', { method: 'DELETE' });
  setCsrfToken('');
}

export const SessionContext = createContext<SessionResponse | undefined>(undefined);

/** The logged-in session; pages render only inside the shell, which has one. */
export function useSession(): SessionResponse & { can: (permission: UiPermission) => boolean } {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a session');
  return { ...session, can: (permission) => session.permissions.includes(permission) };
}
