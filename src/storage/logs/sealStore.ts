import { pino, type Logger } from 'pino';
import type { BatchSeal } from '../../model/batchSeal.js';
import { storedLogColumns, type StoredLogRow } from './logRows.js';
import { sealedLogLine } from './sealedLogLine.js';
import type { JournaledSeal, QuarantinedSeal, SealJournal } from './sealJournal.js';
import type { StoredBatch } from './storedBatch.js';
import type { Storage } from '../engine/storage.js';
import { StorageError } from '../engine/storageError.js';

/** Told about journal lines set aside (the server audits them); must not throw. */
export type QuarantineListener = (entries: QuarantinedSeal[]) => void;

/** A store's seal journal and what moving it needs. */
export interface SealJournaling {
  journal: SealJournal;
  /**
   * Hashes a batch's stored lines as its seal did (integrity's
   * hashBatchContent): recomputes the fingerprints of a crashed process's seals.
   */
  hashContent: (lines: string[]) => { contentHash: string; fingerprints: bigint[] };
  /** How often the writer's journaled seals are moved (default 1 s). */
  intervalMs?: number;
  /** Where a failed move is told. */
  logger?: Logger;
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

const sealKey = (chainId: string, batchSeq: number) => `${chainId}\0${batchSeq}`;

/** The seal_batches row of a journaled seal. UInt64 fingerprints are bare JSON numbers: read exactly, no string each. */
function sealRow(seal: JournaledSeal, fingerprints: ArrayLike<bigint>): string {
  return `{"fingerprints":[${Array.prototype.join.call(fingerprints, ',')}],${JSON.stringify(seal).slice(1)}\n`;
}

/**
 * Integrity chains in ClickHouse: batch seals, signed checkpoints, and events
 * that explain absent rows. With a journal, the writer's seals are journaled
 * at commit and moved into seal_batches in bulk; every read of seals first
 * moves what is journaled, so readers never see a batch without its seal.
 */
export class SealStore {
  /** Fingerprints of journaled seals not yet in the table (the journal keeps none). */
  private readonly unflushed = new Map<string, bigint[]>();
  /** Own segments whose insert failed: it may have been stored all the same, so they are checked against the table like a crashed process's. */
  private readonly insertFailed = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  private quarantineListener: QuarantineListener | undefined;
  /** Quarantined before anyone listened (at start, before the audit trail exists). */
  private unannounced: QuarantinedSeal[] = [];

  private readonly journal: SealJournal | undefined;
  private readonly moving: { intervalMs: number; logger: Logger; hashContent: SealJournaling['hashContent'] } | undefined;

  constructor(
    private readonly storage: Storage,
    journaling?: SealJournaling,
  ) {
    this.journal = journaling?.journal;
    this.moving = journaling && {
      intervalMs: journaling.intervalMs ?? 1000,
      logger: journaling.logger ?? pino({ level: 'silent' }),
      hashContent: journaling.hashContent,
    };
  }

  private get db(): string {
    return this.storage.database;
  }

  /** The writer's path, before the batch's rows are inserted: one append, no engine call. */
  journalBatches(seals: BatchSeal[]): void {
    if (!this.journal) throw new Error('this seal store has no journal');
    const committedAt = (Date.now() / 1000).toFixed(3);
    this.journal.append(
      seals.map((seal) => ({
        chain_id: seal.chainId,
        tenant: seal.tenant,
        batch_seq: seal.batchSeq,
        record_count: seal.recordCount,
        line_format: seal.lineFormat,
        content_hash: seal.contentHash,
        prev_hash: seal.prevHash,
        batch_hash: seal.batchHash,
        min_time: seal.minTimeNs.toString(),
        max_time: seal.maxTimeNs.toString(),
        committed_at: committedAt,
      })),
    );
    for (const seal of seals) this.unflushed.set(sealKey(seal.chainId, seal.batchSeq), seal.fingerprints);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch((error: unknown) => {
        // Retried by the next flush: a segment stays until its seals are in the table.
        this.moving!.logger.error({ reason: (error as Error).message }, 'could not move journaled seals into the seal table');
      });
    }, this.moving!.intervalMs).unref();
  }

  /**
   * Moves every journaled seal into seal_batches (a crashed process's too)
   * and removes the segments; one flush at a time.
   */
  flush(): Promise<void> {
    if (!this.journal) return Promise.resolve();
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const next = this.flushing.then(() => this.moveJournal(this.journal!));
    this.flushing = next.catch(() => undefined);
    return next;
  }

  /** Subscribes to quarantined journal lines, and hears at once about those set aside before. */
  onQuarantine(listener: QuarantineListener): void {
    this.quarantineListener = listener;
    const earlier = this.unannounced;
    this.unannounced = [];
    if (earlier.length > 0) listener(earlier);
  }

  /** Journal lines set aside in this data directory (verify reports each). */
  quarantined(): QuarantinedSeal[] {
    return this.journal?.quarantined() ?? [];
  }

  /**
   * A line that cannot be moved (unparseable, not a seal, or refused by
   * storage as data) is set aside in the quarantine, never retried: one bad
   * line must not stop every later flush, and every start.
   */
  private async moveJournal(journal: SealJournal): Promise<void> {
    for (const segment of journal.rotate()) {
      const { seals: checked, bad } = journal.readChecked(segment);
      const seals = checked.map((entry) => entry.seal);
      // A segment of an earlier process may have been moved already (killed before removing it).
      const stored = journal.ownSegment(segment) && !this.insertFailed.has(segment) ? new Set<string>() : await this.storedSeals(seals);
      const rows: { row: string; line: string }[] = [];
      for (const { seal, line } of checked) {
        const key = sealKey(seal.chain_id, seal.batch_seq);
        if (stored.has(key)) continue;
        rows.push({ row: sealRow(seal, this.unflushed.get(key) ?? (await this.recoveredFingerprints(seal))), line });
      }
      if (rows.length > 0) {
        try {
          await this.storage.insertJsonLines('seal_batches', rows.map((entry) => entry.row).join(''));
        } catch (error) {
          if (!(error instanceof StorageError && error.kind === 'refused')) {
            this.insertFailed.add(segment);
            throw error;
          }
          // Refused as data: one by one, so only the refused lines are set aside.
          for (const entry of rows) {
            try {
              await this.storage.insertJsonLines('seal_batches', entry.row);
            } catch (single) {
              if (!(single instanceof StorageError && single.kind === 'refused')) throw single;
              bad.push({ line: entry.line, reason: `refused by storage: ${single.message.split('\n')[0].slice(0, 300)}` });
            }
          }
        }
      }
      if (bad.length > 0) this.setAside(journal, segment, bad);
      journal.remove(segment);
      this.insertFailed.delete(segment);
      for (const seal of seals) this.unflushed.delete(sealKey(seal.chain_id, seal.batch_seq));
    }
  }

  private setAside(journal: SealJournal, segment: string, bad: { line: string; reason: string }[]): void {
    const entries = journal.quarantine(segment, bad);
    this.moving!.logger.error(
      { segment, lines: entries.length, reasons: entries.map((entry) => entry.reason).slice(0, 5), quarantine: journal.quarantineDir },
      'journaled seals set aside in the quarantine',
    );
    if (this.quarantineListener) {
      try {
        this.quarantineListener(entries);
      } catch {
        // A listener must not stop the move.
      }
    } else this.unannounced.push(...entries);
  }

  /** Highest batch sequence a chain has rows for: a restarted writer never reuses one (a quarantined seal leaves its rows). */
  async highestRowSeq(chainId: string): Promise<number> {
    const rows = await this.storage.rows<{ seq: string }>(
      `SELECT toString(max(batch_seq)) AS seq FROM ${this.db}.logs WHERE chain_id = {chain:String}`,
      { chain: chainId },
    );
    return Number(rows[0]?.seq ?? 0);
  }

  private async storedSeals(seals: JournaledSeal[]): Promise<Set<string>> {
    if (seals.length === 0) return new Set();
    const rows = await this.storage.rows<{ chain_id: string; batch_seq: number }>(
      `SELECT chain_id, batch_seq FROM ${this.db}.seal_batches
       WHERE has({chains:Array(String)}, chain_id) AND batch_seq BETWEEN {from:UInt64} AND {to:UInt64}`,
      {
        chains: [...new Set(seals.map((seal) => seal.chain_id))],
        from: Math.min(...seals.map((seal) => seal.batch_seq)),
        to: Math.max(...seals.map((seal) => seal.batch_seq)),
      },
      { output_format_json_quote_64bit_integers: 0 },
    );
    return new Set(rows.map((row) => sealKey(row.chain_id, Number(row.batch_seq))));
  }

  /**
   * After a crash the fingerprints are recomputed from the stored rows; they
   * are exactly the sealed ones when the rows hash to the journaled content
   * hash. Otherwise (a batch the crash cut short, which the restarted writer
   * aborts, or rows changed meanwhile) there are none and verify judges the
   * batch by its content hash alone.
   */
  private async recoveredFingerprints(seal: JournaledSeal): Promise<bigint[]> {
    const rows = await this.storage.rows<StoredLogRow>(
      `SELECT ${storedLogColumns} FROM ${this.db}.logs
       WHERE chain_id = {chain:String} AND batch_seq = {seq:UInt64} ORDER BY batch_pos`,
      { chain: seal.chain_id, seq: seal.batch_seq },
      { output_format_json_quote_64bit_integers: 0 },
    );
    const { contentHash, fingerprints } = this.moving!.hashContent(rows.map((row) => sealedLogLine(row, seal.line_format)));
    return rows.length === Number(seal.record_count) && contentHash === seal.content_hash ? fingerprints : [];
  }

  /** After the seals it covers are in the table, so no reader sees a checkpoint past them. */
  async insertCheckpoint(checkpoint: Omit<StoredCheckpoint, 'created_at'>): Promise<void> {
    await this.flush();
    await this.storage.client.insert({ table: `${this.db}.seal_checkpoints`, format: 'JSONEachRow', values: [checkpoint] });
  }

  async insertEvents(events: SealEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.storage.client.insert({ table: `${this.db}.seal_events`, format: 'JSONEachRow', values: events });
  }

  /** The newest checkpoint of every chain: where a restarted writer resumes its Merkle frontier. */
  async latestCheckpoints(): Promise<StoredCheckpoint[]> {
    await this.flush();
    return this.storage.rows<StoredCheckpoint>(
      `SELECT chain_id, tree_size, root_hash, note, frontier, head_hash, toString(created_at) AS created_at
       FROM ${this.db}.seal_checkpoints ORDER BY chain_id, tree_size DESC LIMIT 1 BY chain_id`,
      undefined,
      { output_format_json_quote_64bit_integers: 0 },
    );
  }

  async checkpoints(chainIds?: string[]): Promise<StoredCheckpoint[]> {
    await this.flush();
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
    await this.flush();
    return this.storage.rows<StoredBatch>(
      `SELECT chain_id, tenant, batch_seq, record_count, line_format, content_hash, prev_hash, batch_hash,
              toString(toUnixTimestamp64Nano(min_time)) AS min_time, toString(toUnixTimestamp64Nano(max_time)) AS max_time,
              toString(committed_at) AS committed_at
       FROM ${this.db}.seal_batches WHERE chain_id = {chain:String} AND batch_seq > {after:UInt64}
       ORDER BY batch_seq`,
      { chain: chainId, after: afterSeq },
      { output_format_json_quote_64bit_integers: 0 },
    );
  }

  /** One batch's seal with its per-record fingerprints (decimal strings), or undefined when it has none. */
  async batch(chainId: string, batchSeq: number): Promise<(StoredBatch & { fingerprints: string[] }) | undefined> {
    await this.flush();
    const [row] = await this.storage.rows<StoredBatch & { fingerprints: string[] }>(
      `SELECT chain_id, tenant, batch_seq, record_count, line_format, content_hash, prev_hash, batch_hash, fingerprints,
              toString(toUnixTimestamp64Nano(min_time)) AS min_time, toString(toUnixTimestamp64Nano(max_time)) AS max_time,
              toString(committed_at) AS committed_at
       FROM ${this.db}.seal_batches WHERE chain_id = {chain:String} AND batch_seq = {seq:UInt64} LIMIT 1`,
      { chain: chainId, seq: batchSeq },
      { output_format_json_quote_64bit_integers: 1 },
    );
    return (
      row && {
        ...row,
        batch_seq: Number(row.batch_seq),
        record_count: Number(row.record_count),
        fingerprints: row.fingerprints.map(String),
      }
    );
  }

  async fingerprints(chainId: string, batchSeq: number): Promise<bigint[]> {
    await this.flush();
    const rows = await this.storage.rows<{ fingerprints: string[] }>(
      `SELECT fingerprints FROM ${this.db}.seal_batches WHERE chain_id = {chain:String} AND batch_seq = {seq:UInt64}`,
      { chain: chainId, seq: batchSeq },
      { output_format_json_quote_64bit_integers: 1 },
    );
    return (rows[0]?.fingerprints ?? []).map(BigInt);
  }

  /** Fingerprints of every batch of a chain in [fromSeq, toSeq], by sequence number: one query for a whole range. */
  async fingerprintsRange(chainId: string, fromSeq: number, toSeq: number): Promise<Map<number, string[]>> {
    await this.flush();
    const rows = await this.storage.rows<{ batch_seq: number; fingerprints: string[] }>(
      `SELECT batch_seq, fingerprints FROM ${this.db}.seal_batches
       WHERE chain_id = {chain:String} AND batch_seq BETWEEN {from:UInt64} AND {to:UInt64}`,
      { chain: chainId, from: fromSeq, to: toSeq },
      { output_format_json_quote_64bit_integers: 1 },
    );
    return new Map(rows.map((row) => [Number(row.batch_seq), row.fingerprints]));
  }

  async chains(tenant?: string): Promise<string[]> {
    await this.flush();
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
    await this.flush();
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
