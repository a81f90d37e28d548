import type { Storage } from '../engine/storage.js';

/** A UI session as its events add up: created once, seen many times, ended at most once (for good). */
export interface StoredSession {
  idHash: string;
  identityId: string;
  /** The identity as JSON, from the creation event. */
  identity: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  ended: boolean;
}

export interface SessionEvent {
  idHash: string;
  identityId: string;
  /** Only the creation event carries the identity and CSRF token. */
  identity?: string;
  csrfToken?: string;
  createdAt: number;
  seenAt: number;
  expiresAt: number;
  ended?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * UI sessions in ClickHouse, so they outlive a restart and every meshlog
 * process on the same ClickHouse sees the same logins and logouts. Rows are
 * events and are only added: ending a session is sticky whatever order the
 * processes write in.
 */
export class SessionEventStore {
  constructor(private readonly storage: Storage) {}

  async find(idHash: string): Promise<StoredSession | undefined> {
    const [row] = await this.storage.rows<{ owner: string; who: string; csrf: string; created: string; seen: string; is_ended: number }>(
      `SELECT any(identity_id) AS owner, max(identity) AS who, max(csrf_token) AS csrf,
              toString(toUnixTimestamp64Milli(min(created_at))) AS created, toString(toUnixTimestamp64Milli(max(seen_at))) AS seen, max(ended) AS is_ended
       FROM ${this.storage.database}.ui_sessions WHERE id_hash = {idHash:String} GROUP BY id_hash`,
      { idHash },
    );
    // Only the creation event carries the identity (max skips the others' empty strings).
    if (!row || row.who === '') return undefined;
    return {
      idHash,
      identityId: row.owner,
      identity: row.who,
      csrfToken: row.csrf,
      createdAt: Number(row.created),
      lastSeenAt: Number(row.seen),
      ended: Number(row.is_ended) === 1,
    };
  }

  async append(events: SessionEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.storage.client.insert({
      table: `${this.storage.database}.ui_sessions`,
      format: 'JSONEachRow',
      values: events.map((event) => ({
        id_hash: event.idHash,
        identity_id: event.identityId,
        identity: event.identity ?? '',
        csrf_token: event.csrfToken ?? '',
        created_at: iso(event.createdAt),
        seen_at: iso(event.seenAt),
        expires_at: iso(event.expiresAt),
        ended: event.ended === undefined ? 0 : 1,
        ended_reason: event.ended ?? '',
      })),
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  /** Sessions not yet ended nor past their maximum age of any of these identities (key ids, `oidc:<subject>`…). */
  async openSessionsOf(identityIds: string[]): Promise<{ idHash: string; identityId: string; createdAt: number; expiresAt: number }[]> {
    if (identityIds.length === 0) return [];
    const rows = await this.storage.rows<{ id_hash: string; owner: string; created: string; expires: string }>(
      `SELECT id_hash, any(identity_id) AS owner, toString(toUnixTimestamp64Milli(min(created_at))) AS created, toString(toUnixTimestamp64Milli(max(expires_at))) AS expires
       FROM ${this.storage.database}.ui_sessions WHERE identity_id IN {ids:Array(String)}
       GROUP BY id_hash HAVING max(ended) = 0 AND max(expires_at) > now64(3)`,
      { ids: identityIds },
    );
    return rows.map((row) => ({
      idHash: row.id_hash,
      identityId: row.owner,
      createdAt: Number(row.created),
      expiresAt: Number(row.expires),
    }));
  }
}
