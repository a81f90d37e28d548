import { createHash, randomBytes } from 'node:crypto';
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
 * Server-side UI sessions, in memory: a restart logs everyone out, which is
 * the safe direction. Keyed by a hash of the cookie value, so what is held
 * here cannot be replayed as a cookie.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session; the returned id goes into the cookie and nowhere else. */
  create(identity: Identity): { id: string; session: Session } {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: Session = { identity, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session of a cookie value, its idle clock restarted; undefined when unknown, idle too long or too old. */
  touch(id: string): Session | undefined {
    const key = digest(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  destroy(id: string): Session | undefined {
    const key = digest(id);
    const session = this.sessions.get(key);
    this.sessions.delete(key);
    return session;
  }

  /** Ends every session whose identity matches (a user disabled); returns how many. */
  destroyWhere(matches: (identity: Identity) => boolean): number {
    let ended = 0;
    for (const [key, session] of this.sessions) {
      if (!matches(session.identity)) continue;
      this.sessions.delete(key);
      ended++;
    }
    return ended;
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastSeenAt > this.limits.idleTimeoutMs || now - session.createdAt > this.limits.maxAgeMs;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(key);
  }
}
