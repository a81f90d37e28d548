import type { BatchSeal } from '../integrity/batchSeal.js';
import { storedLogColumns, type StoredLogRow } from './logRows.js';
import type { Storage } from './storage.js';

export interface StoredBatch {
  chain_id: string;
  tenant: string;
  batch_seq: number;
  record_count: number;
  content_hash: string;
  prev_hash: string;
  batch_hash: string;
  min_time: string;
  max_time: string;
  committed_at: string;
}

export interface StoredCheckpoint {
  chain_id: string;
  tree_size: number;
  root_hash: string;
  note: string;
  frontier: { size: number; hash: string }[];
  head_hash: string;
  created_at: string;
}

export interface SealEvent {
  chain_id: string;
  batch_seq: number;
  kind: 'aborted' | 'disposed' | 'erased';
  detail: string;
}

/** Integrity chains in ClickHouse: batch seals, signed checkpoints, and events that explain absent rows. */
export class SealStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  async insertBatches(seals: BatchSeal[]): Promise<void> {
    if (seals.length === 0) return;
    await this.storage.client.insert({
      table: `${this.db}.seal_batches`,
      format: 'JSONEachRow',
      values: seals.map((seal) => ({
        chain_id: seal.chainId,
        tenant: seal.tenant,
        batch_seq: seal.batchSeq,
        record_count: seal.recordCount,
        content_hash: seal.contentHash,
        fingerprints: seal.fingerprints.map(String),
        prev_hash: seal.prevHash,
        batch_hash: seal.batchHash,
        min_time: seal.minTimeNs.toString(),
        max_time: seal.maxTimeNs.toString(),
      })),
    });
  }

  async insertCheckpoint(checkpoint: Omit<StoredCheckpoint, 'created_at'>): Promise<void> {
    await this.storage.client.insert({ table: `${this.db}.seal_checkpoints`, format: 'JSONEachRow', values: [checkpoint] });
  }

  async insertEvents(events: SealEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.storage.client.insert({ table: `${this.db}.seal_events`, format: 'JSONEachRow', values: events });
  }

  /** The newest checkpoint of every chain: where a restarted writer resumes its Merkle frontier. */
  async latestCheckpoints(): Promise<StoredCheckpoint[]> {
    return this.storage.rows<StoredCheckpoint>(
      `SELECT chain_id, tree_size, root_hash, note, frontier, head_hash, toString(created_at) AS created_at
       FROM ${this.db}.seal_checkpoints ORDER BY chain_id, tree_size DESC LIMIT 1 BY chain_id`,
      undefined,
      { output_format_json_quote_64bit_integers: 0 },
    );
  }

  async checkpoints(chainIds?: string[]): Promise<StoredCheckpoint[]> {
    return this.storage.rows<StoredCheckpoint>(
      `SELECT chain_id, tree_size, root_hash, note, frontier, head_hash, toString(created_at) AS created_at
       FROM ${this.db}.seal_checkpoints
       WHERE ({chains:Array(String)} = [] OR has({chains:Array(String)}, chain_id))
       ORDER BY chain_id, tree_size`,
      { chains: chainIds ?? [] },
      { output_format_json_quote_64bit_integers: 0 },
    );
  }

  /** Batches of one chain with batch_seq > afterSeq (hashes only, no fingerprints), in order. */
  async batches(chainId: string, afterSeq = 0): Promise<StoredBatch[]> {
    return this.storage.rows<StoredBatch>(
      `SELECT chain_id, tenant, batch_seq, record_count, content_hash, prev_hash, batch_hash,
              toString(toUnixTimestamp64Nano(min_time)) AS min_time, toString(toUnixTimestamp64Nano(max_time)) AS max_time,
              toString(committed_at) AS committed_at
       FROM ${this.db}.seal_batches WHERE chain_id = {chain:String} AND batch_seq > {after:UInt64}
       ORDER BY batch_seq`,
      { chain: chainId, after: afterSeq },
      { output_format_json_quote_64bit_integers: 0 },
    );
  }

  async fingerprints(chainId: string, batchSeq: number): Promise<bigint[]> {
    const rows = await this.storage.rows<{ fingerprints: string[] }>(
      `SELECT fingerprints FROM ${this.db}.seal_batches WHERE chain_id = {chain:String} AND batch_seq = {seq:UInt64}`,
      { chain: chainId, seq: batchSeq },
      { output_format_json_quote_64bit_integers: 1 },
    );
    return (rows[0]?.fingerprints ?? []).map(BigInt);
  }

  /** Fingerprints of every batch of a chain in [fromSeq, toSeq], by sequence number: one query for a whole range. */
  async fingerprintsRange(chainId: string, fromSeq: number, toSeq: number): Promise<Map<number, string[]>> {
    const rows = await this.storage.rows<{ batch_seq: number; fingerprints: string[] }>(
      `SELECT batch_seq, fingerprints FROM ${this.db}.seal_batches
       WHERE chain_id = {chain:String} AND batch_seq BETWEEN {from:UInt64} AND {to:UInt64}`,
      { chain: chainId, from: fromSeq, to: toSeq },
      { output_format_json_quote_64bit_integers: 1 },
    );
    return new Map(rows.map((row) => [Number(row.batch_seq), row.fingerprints]));
  }

  async chains(tenant?: string): Promise<string[]> {
    const rows = await this.storage.rows<{ chain_id: string }>(
      `SELECT DISTINCT chain_id FROM ${this.db}.seal_batches WHERE {tenant:String} = '' OR tenant = {tenant:String} ORDER BY chain_id`,
      { tenant: tenant ?? '' },
    );
    return rows.map((row) => row.chain_id);
  }

  async events(chainId: string): Promise<SealEvent[]> {
    return this.storage.rows<SealEvent>(
      `SELECT chain_id, batch_seq, kind, detail FROM ${this.db}.seal_events WHERE chain_id = {chain:String} ORDER BY batch_seq`,
      { chain: chainId },
      { output_format_json_quote_64bit_integers: 0 },
    );
  }

  async countBatchRows(chainId: string, batchSeq: number): Promise<number> {
    const rows = await this.storage.rows<{ n: string }>(
      `SELECT count() AS n FROM ${this.db}.logs WHERE chain_id = {chain:String} AND batch_seq = {seq:UInt64}`,
      { chain: chainId, seq: batchSeq },
    );
    return Number(rows[0].n);
  }

  /** Removes what a failed or interrupted insert left of a batch, so a retried request is not stored twice. */
  async deleteBatchRows(chainId: string, batchSeq: number): Promise<void> {
    await this.storage.client.command({
      query: `DELETE FROM ${this.db}.logs WHERE chain_id = {chain:String} AND batch_seq = {seq:UInt64}`,
      query_params: { chain: chainId, seq: batchSeq },
      clickhouse_settings: { mutations_sync: '2' },
    });
  }

  /** Every stored row of a chain in [fromSeq, toSeq], in chain order, streamed. */
  async *chainRows(chainId: string, fromSeq: number, toSeq: number): AsyncGenerator<StoredLogRow> {
    const result = await this.storage.client.query({
      query: `SELECT ${storedLogColumns} FROM ${this.db}.logs
              WHERE chain_id = {chain:String} AND batch_seq BETWEEN {from:UInt64} AND {to:UInt64}
              ORDER BY batch_seq, batch_pos`,
      query_params: { chain: chainId, from: fromSeq, to: toSeq },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    for await (const rows of result.stream<StoredLogRow>()) {
      for (const row of rows) yield row.json();
    }
  }

  /** Rows whose chain has no such batch at all: inserted outside the writer. */
  async unsealedRows(tenant?: string): Promise<{ chain_id: string; batch_seq: number; n: number }[]> {
    return this.storage.rows(
      `SELECT chain_id, batch_seq, count() AS n FROM ${this.db}.logs
       WHERE ({tenant:String} = '' OR tenant = {tenant:String})
         AND (chain_id, batch_seq) NOT IN (SELECT chain_id, batch_seq FROM ${this.db}.seal_batches)
       GROUP BY chain_id, batch_seq ORDER BY chain_id, batch_seq`,
      { tenant: tenant ?? '' },
      { output_format_json_quote_64bit_integers: 0 },
    );
  }
}
