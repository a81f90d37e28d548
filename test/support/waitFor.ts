import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, for the error when the deadline passes. */
  what: string;
  /**
   * How long the condition may take. Generous on purpose: the deadline only
   * bounds a failure, a passing test returns as soon as the condition holds,
   * so a loaded machine (CI beside a benchmark) slows the test, never fails it.
   */
  timeoutMs?: number;
  /** Pause between probes. */
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns something other than `undefined` or `false`,
 * and returns that value: tests wait for states, never for durations.
 * Throws with `what` once the deadline passes; a probe that throws fails at once.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions): Promise<T> {
  const { what, timeoutMs = 60_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
