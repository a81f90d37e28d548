import { createHash, randomBytes } from 'node:crypto';
import { Replica } from '../model/replica.js';
import type { SessionEvent, SessionEventStore } from '../storage/stores/sessionEventStore.js';
import type { Identity } from './identity.js';

/** A browser's login: who it is, and the token its state-changing requests must echo (CSRF). */
export interface Session {
  identity: Identity;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionLimits {
  /** A session unused this long is gone. */
  idleTimeoutMs: number;
  /** A session older than this is gone, however busy. */
  maxAgeMs: number;
}

const digest = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * Server-side UI sessions, kept in ClickHouse: they survive a restart and
 * are shared by every meshlog process on the same ClickHouse (a logout or a
 * disabled user ends them everywhere). Keyed by a hash of the cookie value,
 * so nothing stored can be replayed as a cookie. Each request reads the
 * session; a use is written at most once per tenth of the idle timeout (one
 * minute at most), which is how precise the idle timeout is. In a cluster
 * of embedded stores every event also goes to every other node (`replica`):
 * a login through one node is good on all, a logout or an ended session
 * ends it on all.
 */
export class SessionStore {
  private readonly seenWriteIntervalMs: number;
  /** Events are only added and add up alike in any order: one applied twice (a node's own, back from the bucket) changes nothing. */
  readonly replica = new Replica<SessionEvent>((event) => this.events.append([event]));

  constructor(
    readonly limits: SessionLimits,
    private readonly events: SessionEventStore,
    private readonly now: () => number = Date.now,
  ) {
    this.seenWriteIntervalMs = Math.min(60_000, Math.floor(limits.idleTimeoutMs / 10));
  }

  /** A new session; the returned id goes into the cookie and nowhere else. */
  async create(identity: Identity): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: Session = { identity, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
    const { id: identityId, name, kind, roles, tenants, email } = identity;
    await this.record([
      {
        idHash: digest(id),
        identityId,
        identity: JSON.stringify({ id: identityId, name, kind, roles, tenants, email }),
        csrfToken: session.csrfToken,
        createdAt: now,
        seenAt: now,
        expiresAt: now + this.limits.maxAgeMs,
      },
    ]);
    return { id, session };
  }

  /** The live session of a cookie value, its idle clock restarted; undefined when unknown, ended, idle too long or too old. */
  async touch(id: string): Promise<Session | undefined> {
    const stored = await this.events.find(digest(id));
    if (!stored || stored.ended) return undefined;
    const now = this.now();
    if (now - stored.lastSeenAt > this.limits.idleTimeoutMs || now - stored.createdAt > this.limits.maxAgeMs) return undefined;
    if (now - stored.lastSeenAt >= this.seenWriteIntervalMs) {
      await this.record([
        {
          idHash: stored.idHash,
          identityId: stored.identityId,
          createdAt: stored.createdAt,
          seenAt: now,
          expiresAt: stored.createdAt + this.limits.maxAgeMs,
        },
      ]);
    }
    return { identity: JSON.parse(stored.identity) as Identity, csrfToken: stored.csrfToken, createdAt: stored.createdAt, lastSeenAt: now };
  }

  /** Logout: the session is ended for good, in every process. */
  async destroy(id: string): Promise<void> {
    const stored = await this.events.find(digest(id));
    if (!stored || stored.ended) return;
    const now = this.now();
    await this.record([
      {
        idHash: stored.idHash,
        identityId: stored.identityId,
        createdAt: stored.createdAt,
        seenAt: now,
        expiresAt: stored.createdAt + this.limits.maxAgeMs,
        ended: 'logout',
      },
    ]);
  }

  /** Ends every open session of these identities (a disabled user's keys, a revoked key); returns how many. */
  async endSessionsOf(identityIds: string[], reason: string): Promise<number> {
    const open = await this.events.openSessionsOf(identityIds);
    const now = this.now();
    await this.record(open.map((session) => ({ ...session, seenAt: now, ended: reason })));
    return open.length;
  }

  private async record(events: SessionEvent[]): Promise<void> {
    await this.events.append(events);
    await Promise.all(events.map((event) => this.replica.send(event)));
  }
}
