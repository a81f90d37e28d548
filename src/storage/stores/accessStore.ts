import type { Storage } from '../engine/storage.js';
import type { ApiKeyView } from '../../api/keys.js';

/** A key as stored: the API's view (src/api/keys.ts) but for its state, and its secret's hash. */
export interface StoredApiKey extends Omit<ApiKeyView, 'state'> {
  secret_hash: string;
}

/** API keys and their last use in ClickHouse (the newest version of a key wins). */
export class AccessStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  async keys(): Promise<StoredApiKey[]> {
    return this.storage.rows<StoredApiKey>(
      `SELECT k.id AS id, name, roles, tenants, secret_hash, created_by, toString(created_at) AS created_at,
              toString(expires_at) AS expires_at, toString(revoked_at) AS revoked_at, revoked_by,
              if(u.id = '', NULL, toString(u.last_used_at)) AS last_used_at
       FROM ${this.db}.api_keys AS k FINAL
       LEFT JOIN (SELECT id, max(last_used_at) AS last_used_at FROM ${this.db}.api_key_usage GROUP BY id) AS u ON u.id = k.id
       ORDER BY created_at`,
    );
  }

  async saveKey(key: Omit<StoredApiKey, 'last_used_at'>): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.api_keys`,
      format: 'JSONEachRow',
      values: [{ ...key, version: Date.now() }],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  async recordUse(uses: Map<string, number>): Promise<void> {
    if (uses.size === 0) return;
    await this.storage.client.insert({
      table: `${this.db}.api_key_usage`,
      format: 'JSONEachRow',
      values: [...uses].map(([id, at]) => ({ id, last_used_at: at })),
    });
  }
}
