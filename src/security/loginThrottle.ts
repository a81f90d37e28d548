import { MeshlogError } from '../errors.js';

export interface LoginThrottleSettings {
  /** Failed logins from one client address within the window before it is refused (0 = off). */
  login_failures_per_address: number;
  /** Failed logins naming one account (key id, OIDC subject, the admin token) within the window before it is refused (0 = off). */
  login_failures_per_account: number;
  login_failure_window_ms: number;
}

/** Past this many tracked addresses and accounts, those with no failure left in the window are forgotten, then the oldest. */
const maxTracked = 10_000;

/**
 * The account a presented credential claims, without checking it: an API
 * key by its id (`mlk_<id>_…`), an OIDC token by its subject, anything else
 * is a guess at the bootstrap admin token. Guessing one key's secret from
 * many addresses is slowed by this; guessing many from one address by the
 * address.
 */
export function loginAccountOf(token: string): string {
  const key = /^mlk_([0-9a-f]{12})_/.exec(token);
  if (key) return `key:${key[1]}`;
  const parts = token.split('.');
  if (parts.length === 3) {
    try {
      const subject = (JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
      if (typeof subject === 'string' && subject !== '') return `oidc:${subject.slice(0, 200)}`;
    } catch {
      // Not a JWT after all: counted with the other guesses.
    }
  }
  return 'admin-token';
}

/**
 * Failed UI logins in a sliding window, per client address and per account.
 * Past the limit of either, logins are refused (429, Retry-After: until the
 * oldest counted failure leaves the window), even with the right credential,
 * or guessing would go on; a successful login clears both counts. Held in
 * memory: each meshlog process counts its own failures.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly settings: LoginThrottleSettings,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Throws ML_RATE_LIMITED while the address or the account has too many recent failures. */
  check(address: string, account: string): void {
    const now = this.clock();
    for (const [key, limit, what] of this.keys(address, account)) {
      const recent = this.recent(key, now);
      if (recent.length < limit) continue;
      const waitMs = recent[recent.length - limit]! + this.settings.login_failure_window_ms - now;
      throw new MeshlogError('ML_RATE_LIMITED', `too many failed logins ${what}: try again later`, { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
    }
  }

  failed(address: string, account: string): void {
    const now = this.clock();
    for (const [key, limit] of this.keys(address, account)) {
      if (this.failures.size >= maxTracked && !this.failures.has(key)) this.forget(now);
      // Only the newest `limit` failures ever decide anything.
      this.failures.set(key, [...this.recent(key, now), now].slice(-limit));
    }
  }

  succeeded(address: string, account: string): void {
    for (const [key] of this.keys(address, account)) this.failures.delete(key);
  }

  private keys(address: string, account: string): [string, number, string][] {
    const { login_failures_per_address: perAddress, login_failures_per_account: perAccount } = this.settings;
    const keys: [string, number, string][] = [];
    if (perAddress > 0) keys.push([`address/${address}`, perAddress, `from ${address}`]);
    if (perAccount > 0) keys.push([`account/${account}`, perAccount, `for ${account}`]);
    return keys;
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => now - at < this.settings.login_failure_window_ms);
  }

  private forget(now: number): void {
    for (const key of [...this.failures.keys()]) if (this.recent(key, now).length === 0) this.failures.delete(key);
    // Still full: the longest-tracked go first (Map keeps insertion order).
    for (const key of this.failures.keys()) {
      if (this.failures.size < maxTracked) break;
      this.failures.delete(key);
    }
  }
}
