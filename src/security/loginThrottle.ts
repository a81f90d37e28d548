import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { SharedFailures } from '../model/sharedFailures.js';
import type { AuditEvent, AuditTrail } from './auditTrail.js';

export interface LoginThrottleSettings {
  /** Failed authentications from one client address within the window before it is refused (0 = off). */
  login_failures_per_address: number;
  /**
   * No longer used: a lockout per key id, OIDC subject or the admin token let
   * anyone lock that credential's owner out by failing in its name. Accepted
   * so existing configurations still load.
   */
  login_failures_per_account: number;
  login_failure_window_ms: number;
}

/** Past this many tracked addresses, those with no failure left in the window are forgotten, then the oldest. */
const maxTracked = 10_000;

/**
 * The account a presented credential claims, without checking it (for the
 * audit trail: whose credential was tried): an API key by its id
 * (`mlk_<id>_…`), an OIDC token by its subject, anything else is a guess at
 * the bootstrap admin token.
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
 * The source a failure is counted against: an IPv4 address, or an IPv6
 * address's /64 (one host is usually given a whole /64, so counting single
 * IPv6 addresses would not slow it down). IPv4-mapped IPv6 is IPv4.
 */
export function throttleSource(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (!isIPv6(bare)) return bare;
  // Expand `::` to get the first four groups.
  const [head, tail = ''] = bare.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = bare.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}

/**
 * Failed authentications in a sliding window, per client address, for every
 * way a credential is presented (HTTP tokens, UI logins, OIDC, forward
 * shared key and users, gRPC). Past the limit, credentials from that address
 * are refused unchecked (429, Retry-After: until the oldest counted failure
 * leaves the window), or guessing would go on. Nothing is counted per
 * account: a failure in a key's name from elsewhere never locks out its
 * owner, whose own address has not failed. A success does not clear the
 * address either (one valid low-privilege key must not reset the count of
 * guesses at another). Held in memory; in a cluster every node counts in
 * one shared bucket (`shareWith`), so N nodes allow the limit, not N times it.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private shared: SharedFailures | undefined;

  constructor(
    readonly settings: LoginThrottleSettings,
    private readonly clock: () => number = Date.now,
  ) {}

  /** In a cluster: count with every other node from now on. */
  shareWith(shared: SharedFailures): void {
    this.shared = shared;
  }

  /** Throws ML_RATE_LIMITED while the address has too many recent failures (on any node of a cluster). */
  async check(address: string): Promise<void> {
    if (this.shared && this.settings.login_failures_per_address > 0) {
      const key = throttleSource(address);
      const counted = await this.shared.recent(key).catch(() => undefined);
      if (counted) this.remember(key, counted);
    }
    const wait = this.waitMs(address);
    if (wait > 0) {
      throw new MeshlogError('ML_RATE_LIMITED', `too many failed authentications from ${throttleSource(address)}: try again later`, {
        retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
      });
    }
  }

  /** How long the address is still refused (by what this node last counted or read); 0 when it is not. */
  waitMs(address: string): number {
    const limit = this.settings.login_failures_per_address;
    if (limit <= 0) return 0;
    const now = this.clock();
    const recent = this.recent(throttleSource(address), now);
    if (recent.length < limit) return 0;
    return Math.max(1, recent[recent.length - limit]! + this.settings.login_failure_window_ms - now);
  }

  /** Counts a failure; true when it is the one that reached the limit (the address is refused from now on). */
  async failed(address: string): Promise<boolean> {
    const limit = this.settings.login_failures_per_address;
    if (limit <= 0) return false;
    const now = this.clock();
    const key = throttleSource(address);
    // Only the newest `limit` failures ever decide anything.
    const counted = await this.shared?.add(key, now, limit).catch(() => undefined);
    if (counted) this.remember(key, counted);
    const before = this.recent(key, now);
    this.remember(key, [...before, now].slice(-limit));
    return before.length === limit - 1;
  }

  private remember(key: string, failures: number[]): void {
    if (this.failures.size >= maxTracked && !this.failures.has(key)) this.forget(this.clock());
    this.failures.set(key, failures);
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

/** A failed authentication as the audit trail takes it (the source address is added). */
export type AuthFailureEvent = Omit<AuditEvent, 'remoteAddress' | 'outcome'>;

/**
 * The one place every authentication path reports to: refuses a throttled
 * address before a credential is checked, audits each failure with its
 * source address, and audits the moment an address becomes throttled
 * (`auth.throttled`), once per throttling, not once per refused attempt (a
 * guesser must not flood the trail).
 */
export class AuthFailures {
  constructor(
    readonly throttle: LoginThrottle,
    private readonly audit: AuditTrail,
    private readonly logger: Logger,
    private readonly settings: LoginThrottleSettings,
  ) {}

  /** Throws ML_RATE_LIMITED (429, Retry-After) while the address is throttled. */
  async check(address: string): Promise<void> {
    await this.throttle.check(address);
  }

  /** Audits a refusal that is no guess (no credential presented, an expired session): not counted against the address. */
  async denied(address: string, event: AuthFailureEvent): Promise<void> {
    await this.audit.record({ ...event, outcome: 'denied', remoteAddress: address });
  }

  /** Audits the failure (`auth.failure` unless the event names its own action) and counts it against the address. */
  async failed(address: string, event: AuthFailureEvent): Promise<void> {
    const reached = await this.throttle.failed(address);
    await this.audit.record({ ...event, outcome: 'denied', remoteAddress: address });
    if (!reached) return;
    const retryAfterSeconds = Math.ceil(this.throttle.waitMs(address) / 1000);
    const source = throttleSource(address);
    this.logger.warn(
      {
        source,
        failures: this.settings.login_failures_per_address,
        window_ms: this.settings.login_failure_window_ms,
        retry_after_seconds: retryAfterSeconds,
      },
      'authentication failures throttled: credentials from this address are refused',
    );
    await this.audit.record({
      action: 'auth.throttled',
      outcome: 'denied',
      remoteAddress: address,
      target: source,
      detail: {
        failures: this.settings.login_failures_per_address,
        window_ms: this.settings.login_failure_window_ms,
        retry_after_seconds: retryAfterSeconds,
        last_path: event.target ?? '',
      },
    });
  }
}
