import { Replica } from '../../model/replica.js';
import type { Storage } from '../engine/storage.js';
import type { SavedQuery } from '../../api/savedQueries.js';

export type { SavedQuery } from '../../api/savedQueries.js';

interface SavedQueryRow extends Omit<SavedQuery, 'shared'> {
  shared: number;
}

const columns = `tenant, id, owner_id, owner_name, name, query, range_from, range_to, shared, toString(created_at) AS created_at`;

/** Saved queries in ClickHouse: one row per change (saved, deleted), the newest version of a query wins. */
export class SavedQueryStore {
  private lastVersion = 0;
  /** In a cluster: a query saved or deleted on any node is saved or deleted on every node. */
  readonly replica = new Replica<{ query: SavedQuery; deleted: boolean }>(({ query, deleted }) => this.writeHere(query, deleted));

  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  /** Strictly increasing, so a delete right after a save (same millisecond) still wins. */
  private nextVersion(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, Date.now() * 1000);
    return this.lastVersion;
  }

  async save(query: SavedQuery): Promise<void> {
    await this.write(query, false);
  }

  async delete(query: SavedQuery): Promise<void> {
    await this.write(query, true);
  }

  private async write(query: SavedQuery, deleted: boolean): Promise<void> {
    await this.writeHere(query, deleted);
    await this.replica.send({ query, deleted });
  }

  private async writeHere(query: SavedQuery, deleted: boolean): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.saved_queries`,
      format: 'JSONEachRow',
      values: [{ ...query, shared: query.shared ? 1 : 0, deleted: deleted ? 1 : 0, version: this.nextVersion() }],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  /** The tenant's queries this owner saved or anyone shared, newest first. */
  async visibleTo(tenant: string, ownerId: string): Promise<SavedQuery[]> {
    const rows = await this.storage.rows<SavedQueryRow>(
      `SELECT ${columns} FROM ${this.db}.saved_queries FINAL
       WHERE tenant = {tenant:String} AND deleted = 0 AND (owner_id = {owner:String} OR shared = 1)
       ORDER BY created_at DESC, name`,
      { tenant, owner: ownerId },
    );
    return rows.map((row) => ({ ...row, shared: Number(row.shared) === 1 }));
  }

  async get(tenant: string, id: string): Promise<SavedQuery | undefined> {
    const [row] = await this.storage.rows<SavedQueryRow>(
      `SELECT ${columns} FROM ${this.db}.saved_queries FINAL WHERE tenant = {tenant:String} AND id = {id:String} AND deleted = 0 LIMIT 1`,
      { tenant, id },
    );
    return row && { ...row, shared: Number(row.shared) === 1 };
  }
}
