import { Readable } from 'node:stream';
import type { Storage } from '../engine/storage.js';

/**
 * Where a backup of a running meshlog cuts: each chain's last whole batch
 * when it was taken (between two group commits), and the instant, for tables
 * outside the chains (spans).
 */
export interface BackupCut {
  chains: Record<string, number>;
  atMs: number;
}

/** Whole tables in and out, partition by partition: what a backup copies, column for column. */
export class BackupStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  /**
   * Every table of the database (schema_migrations included: it says which schema the data has), except Memory
   * tables: scratch space that holds nothing between statements (erasure_replay_probe) and no schema creates.
   */
  async tables(): Promise<string[]> {
    const rows = await this.storage.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND NOT is_temporary AND engine NOT LIKE '%View'
         AND engine != 'Memory' ORDER BY name`,
      { db: this.db },
    );
    return rows.map((row) => row.name);
  }

  async appliedMigrations(): Promise<number[]> {
    const rows = await this.storage.rows<{ version: number }>(`SELECT version FROM ${this.db}.schema_migrations ORDER BY version`);
    return rows.map((row) => Number(row.version));
  }

  /** Each chain's last batch, from the seals and from the rows (chains written without sealing). */
  async chainHeads(): Promise<Record<string, number>> {
    const rows = await this.storage.rows<{ chain_id: string; seq: number }>(
      `SELECT chain_id, max(seq) AS seq FROM (
         SELECT chain_id, max(batch_seq) AS seq FROM ${this.db}.seal_batches GROUP BY chain_id
         UNION ALL SELECT chain_id, max(batch_seq) AS seq FROM ${this.db}.logs GROUP BY chain_id)
       GROUP BY chain_id`,
      undefined,
      { output_format_json_quote_64bit_integers: 0 },
    );
    return Object.fromEntries(rows.map((row) => [row.chain_id, Number(row.seq)]));
  }

  /** Rows as the table means them: after FINAL for engines that collapse versions (a restore may collapse them sooner). */
  async countRows(table: string): Promise<number> {
    const rows = await this.storage.rows<{ n: string }>(
      `SELECT count() AS n FROM ${this.db}.${quoteIdentifier(table)}${await this.final(table)}`,
    );
    return Number(rows[0].n);
  }

  private async final(table: string): Promise<string> {
    const engine =
      (
        await this.storage.rows<{ engine: string }>(
          `SELECT engine FROM system.tables WHERE database = {db:String} AND name = {table:String}`,
          { db: this.db, table },
        )
      )[0]?.engine ?? '';
    return /Replacing|Collapsing|Summing|Aggregating/.test(engine) ? ' FINAL' : '';
  }

  /** Partitions of a table: a backup file each, so no file needs more memory than one partition. */
  async partitions(table: string): Promise<string[]> {
    const rows = await this.storage.rows<{ p: string }>(
      `SELECT DISTINCT _partition_id AS p FROM ${this.db}.${quoteIdentifier(table)} ORDER BY p`,
    );
    return rows.map((row) => row.p);
  }

  /**
   * One partition as TabSeparatedWithNames: text that embedded chDB takes
   * back as it is (its exec reads bodies as text), with column names, so a
   * newer schema's added columns get their defaults. Times in UTC. Rows as
   * the table means them (FINAL), so the count is the count a restore arrives
   * at; with a cut, only rows up to it.
   */
  async readPartition(table: string, partition: string, cut?: BackupCut): Promise<{ text: Buffer; rows: number }> {
    const cutParams = cut ? { cut_chains: Object.keys(cut.chains), cut_seqs: Object.values(cut.chains), cut_at: cut.atMs } : {};
    const result = await this.storage.client.exec({
      query: `SELECT * FROM ${this.db}.${quoteIdentifier(table)}${await this.final(table)}
              WHERE _partition_id = {partition:String}${cut ? ` AND ${cutCondition(table)}` : ''} FORMAT TabSeparatedWithNames`,
      query_params: { partition, ...cutParams },
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

/** Rows of a table up to a backup cut: chains up to their heads, spans up to the instant. */
function cutCondition(table: string): string {
  const head = `arrayElement({cut_seqs:Array(UInt64)}, indexOf({cut_chains:Array(String)}, chain_id))`;
  switch (table) {
    case 'logs':
    case 'seal_batches':
    case 'seal_events':
      return `batch_seq <= ${head}`;
    case 'seal_checkpoints':
      return `tree_size <= ${head}`;
    case 'spans':
      return `ingested_at <= fromUnixTimestamp64Milli({cut_at:Int64})`;
    default:
      return '1';
  }
}

/** Table names come from system.tables, but are still quoted as identifiers. */
function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}
