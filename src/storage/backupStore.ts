import { Readable } from 'node:stream';
import type { Storage } from './storage.js';

/** Whole tables in and out, partition by partition: what a backup copies, column for column. */
export class BackupStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  /** Every table of the database (schema_migrations included: it says which schema the data has). */
  async tables(): Promise<string[]> {
    const rows = await this.storage.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND NOT is_temporary AND engine NOT LIKE '%View' ORDER BY name`,
      { db: this.db },
    );
    return rows.map((row) => row.name);
  }

  async appliedMigrations(): Promise<number[]> {
    const rows = await this.storage.rows<{ version: number }>(`SELECT version FROM ${this.db}.schema_migrations ORDER BY version`);
    return rows.map((row) => Number(row.version));
  }

  /** Rows as the table means them: after FINAL for engines that collapse versions (a restore may collapse them sooner). */
  async countRows(table: string): Promise<number> {
    const engine = (await this.storage.rows<{ engine: string }>(`SELECT engine FROM system.tables WHERE database = {db:String} AND name = {table:String}`, { db: this.db, table }))[0]?.engine ?? '';
    const final = /Replacing|Collapsing|Summing|Aggregating/.test(engine) ? ' FINAL' : '';
    const rows = await this.storage.rows<{ n: string }>(`SELECT count() AS n FROM ${this.db}.${quoteIdentifier(table)}${final}`);
    return Number(rows[0].n);
  }

  /** Partitions of a table: a backup file each, so no file needs more memory than one partition. */
  async partitions(table: string): Promise<string[]> {
    const rows = await this.storage.rows<{ p: string }>(`SELECT DISTINCT _partition_id AS p FROM ${this.db}.${quoteIdentifier(table)} ORDER BY p`);
    return rows.map((row) => row.p);
  }

  /**
   * One partition as TabSeparatedWithNames: text that embedded chDB takes
   * back as it is (its exec reads bodies as text), with column names, so a
   * newer schema's added columns get their defaults. Times in UTC.
   */
  async readPartition(table: string, partition: string): Promise<{ text: Buffer; rows: number }> {
    const result = await this.storage.client.exec({
      query: `SELECT * FROM ${this.db}.${quoteIdentifier(table)} WHERE _partition_id = {partition:String} FORMAT TabSeparatedWithNames`,
      query_params: { partition },
      clickhouse_settings: { session_timezone: 'UTC' },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks);
    let rows = -1;
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) rows++;
    return { text, rows: Math.max(rows, 0) };
  }

  /** Appends TabSeparatedWithNames rows to a table; resolves once committed. */
  async writePartition(table: string, text: Buffer): Promise<void> {
    const result = await this.storage.client.exec({
      query: `INSERT INTO ${this.db}.${quoteIdentifier(table)} FORMAT TabSeparatedWithNames`,
      values: Readable.from([text]),
      clickhouse_settings: { session_timezone: 'UTC', max_partitions_per_insert_block: '0', async_insert: 0 },
    });
    result.stream.resume();
  }
}

/** Table names come from system.tables, but are still quoted as identifiers. */
function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}
