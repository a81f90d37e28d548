import type { Storage } from '../engine/storage.js';
import type { User } from '../../api/users.js';

/** A user as stored is the API's user (src/api/users.ts). */
export type StoredUser = User;

/** Users in ClickHouse: one row per change, the newest version of a user wins. */
export class UserStore {
  constructor(private readonly storage: Storage) {}

  async users(): Promise<StoredUser[]> {
    return this.storage.rows<StoredUser>(
      `SELECT name, email, roles, tenants, state, key_ids, created_by, toString(created_at) AS created_at, changed_by, toString(changed_at) AS changed_at
       FROM ${this.storage.database}.users FINAL ORDER BY name`,
    );
  }

  async save(user: StoredUser): Promise<void> {
    await this.storage.client.insert({
      table: `${this.storage.database}.users`,
      format: 'JSONEachRow',
      values: [{ ...user, version: Date.now() }],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }
}
