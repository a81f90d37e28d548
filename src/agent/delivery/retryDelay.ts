/**
 * The longest Retry-After honoured. Beyond 2^31 - 1 ms setTimeout fires at
 * once (a server asking for 30 days got a retry every millisecond), and a
 * server asking for days would hold the agent's whole buffer that long.
 */
export const retryAfterCapMs = 15 * 60_000;

/**
 * Exponential backoff with full jitter (a random delay up to the exponential
 * bound, so many agents do not retry in step), never shorter than what the
 * server asked for in Retry-After (seconds or an HTTP date), up to retryAfterCapMs.
 */
export function retryDelay(attempt: number, options: { initialMs: number; maxMs: number }, retryAfter?: string | null): number {
  const bound = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  const jittered = options.initialMs / 2 + Math.random() * (bound - options.initialMs / 2);
  return Math.max(jittered, Math.min(retryAfterMs(retryAfter) ?? 0, retryAfterCapMs));
}

function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Worth retrying: the server or the network may recover (auth too, so a wrong token backs up in the buffer instead of losing lines). */
export function isRetryableStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 408 || status === 429 || status >= 500;
}
