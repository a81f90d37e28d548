import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { BatchToSeal, ChainSealer } from '../integrity/chainSealer.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import type { LogRecord } from '../model/logRecord.js';
import type { Metrics } from '../observability/metrics.js';
import { batchDeduplicationToken } from '../storage/engine/insertDeduplication.js';
import { openCompactLogRow } from '../storage/logs/compactLogRow.js';
import { compactClosingPrefixBytes, LogLineEncoder, OpenRowEncoder, type EncodedOpenRows } from '../storage/logs/logLineEncoder.js';
import { clampNanos } from '../storage/logs/logRows.js';
import { StorageError, storageOutage } from '../storage/engine/storageError.js';
import type { Storage } from '../storage/engine/storage.js';

export interface WriterOptions {
  /** Stable id of this writer; chains are per tenant and writer so writers never coordinate. */
  writerId: string;
  maxQueuedRecords: number;
  /** Bytes of encoded rows waiting for commit past which ingest is refused (the record bound alone lets long lines take gigabytes). */
  maxQueuedBytes?: number;
  batchMaxRecords: number;
  batchLingerMs: number;
}

/** With sealing, every batch is hash-chained and its seal journaled before its rows are inserted. */
export interface WriterSealing {
  sealer: ChainSealer;
  store: SealStore;
}

/** Told about records once they are committed, off the commit path; must not throw. */
export type CommittedListener = (records: LogRecord[]) => void;

interface PendingWrite {
  tenants: string[];
  /** The records' open rows, encoded when queued. */
  rows: EncodedOpenRows;
  count: number;
  /** Bytes of the rows: what the queue holds in memory. */
  bytes: number;
  /** Kept only while someone listens for committed records. */
  records: LogRecord[] | undefined;
  minTimeNs: bigint;
  maxTimeNs: bigint;
  receiver: string;
  /** Committed in a batch of its own: a group commit it was in was refused as data. */
  alone?: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Rows `from` up to `to` of one write's encoded rows, all of one tenant. */
interface RowRun {
  rows: EncodedOpenRows;
  from: number;
  to: number;
}

/**
 * Group commit: requests queue their records, one insert commits many
 * requests at once, and each request's promise settles only after its
 * records are committed. The queue is bounded: past the bound, writes are
 * refused (429) instead of buffered without limit.
 */
export class LogWriter {
  private pending: PendingWrite[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  private committing: Promise<void> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** While set, no group commit starts: see betweenCommits. */
  private paused: Promise<void> | undefined;
  private readonly chainHeads: Map<string, number>;
  private readonly committedListeners: CommittedListener[] = [];
  /** Encoded bytes per row of the last write: the first size of the next one's buffer. */
  private bytesPerRow = 512;

  constructor(
    private readonly storage: Storage,
    private readonly options: WriterOptions,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly sealing: WriterSealing | undefined,
    chainHeads: Map<string, number>,
  ) {
    this.chainHeads = new Map(chainHeads);
  }

  static async open(
    storage: Storage,
    options: WriterOptions,
    metrics: Metrics,
    logger: Logger,
    sealing?: WriterSealing,
  ): Promise<LogWriter> {
    // Sealed chains take their heads from the seals, which are stored first.
    const heads = sealing ? new Map<string, number>() : await storage.chainHeads();
    return new LogWriter(storage, options, metrics, logger, sealing, heads);
  }

  /** Subscribes to committed records (live tail, detectors); returns the unsubscribe function. */
  onCommitted(listener: CommittedListener): () => void {
    this.committedListeners.push(listener);
    return () => {
      const index = this.committedListeners.indexOf(listener);
      if (index >= 0) this.committedListeners.splice(index, 1);
    };
  }

  get queueDepth(): number {
    return this.queuedRecords;
  }

  /**
   * Resolves once every record is committed; rejects with a retryable
   * MeshlogError otherwise. `exempt` writes (the audit trail: a few records
   * per action) are never refused for ingest overload and do not linger.
   */
  write(records: LogRecord[], receiver: string, options: { exempt?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new MeshlogError('ML_SHUTTING_DOWN'));
    if (records.length === 0) return Promise.resolve();
    if (!options.exempt && this.queuedRecords > 0 && this.queuedRecords + records.length > this.options.maxQueuedRecords) {
      this.metrics.recordsRejected.inc({ receiver, reason: 'overloaded' }, records.length);
      return Promise.reject(new MeshlogError('ML_OVERLOADED', `${this.queuedRecords} records waiting for commit`));
    }
    // A nearly full data disk refuses ingest up front (retryable), before anything is queued or acknowledged.
    const diskFull = options.exempt ? undefined : this.storage.diskGuard?.refusal('ingest');
    if (diskFull !== undefined) {
      this.metrics.recordsRejected.inc({ receiver, reason: 'disk_full' }, records.length);
      return Promise.reject(new MeshlogError('ML_UNAVAILABLE', diskFull, { retryAfterSeconds: 5 }));
    }
    const tenants = new Array<string>(records.length);
    const encoder = new OpenRowEncoder(records.length, Math.ceil(1.25 * this.bytesPerRow * records.length));
    // The seal's time range is of the stored (clamped) times: a seal must always be storable.
    let minTimeNs = clampNanos(records[0].timeUnixNano);
    let maxTimeNs = minTimeNs;
    let resource: Record<string, string> | undefined;
    let resourceJson = '';
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      tenants[i] = record.tenant;
      // Records of one resource share its attributes object: serialized once.
      if (record.resource !== resource) {
        resource = record.resource;
        resourceJson = JSON.stringify(resource);
      }
      encoder.append(openCompactLogRow(record, resourceJson));
      const time = clampNanos(record.timeUnixNano);
      if (time < minTimeNs) minTimeNs = time;
      if (time > maxTimeNs) maxTimeNs = time;
    }
    const rows = encoder.finish();
    const bytes = rows.bytes.length;
    this.bytesPerRow = bytes / records.length;
    const maxBytes = this.options.maxQueuedBytes;
    if (!options.exempt && maxBytes && this.queuedBytes > 0 && this.queuedBytes + bytes > maxBytes) {
      this.metrics.recordsRejected.inc({ receiver, reason: 'overloaded' }, records.length);
      return Promise.reject(
        new MeshlogError('ML_OVERLOADED', `${Math.round(this.queuedBytes / 1024 / 1024)} MiB of records waiting for commit`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const kept = this.committedListeners.length > 0 ? records : undefined;
      this.pending.push({ tenants, rows, count: records.length, bytes, records: kept, minTimeNs, maxTimeNs, receiver, resolve, reject });
      this.queuedRecords += records.length;
      this.queuedBytes += bytes;
      this.metrics.queueRecords.set(this.queuedRecords);
      this.schedule(options.exempt === true);
    });
  }

  /**
   * Runs `action` between two group commits, with this writer's chain heads
   * (last batch per chain): every batch up to a head is whole, none after it
   * has started. Writes queue meanwhile (a live backup takes its cut here).
   */
  async betweenCommits<T>(action: (heads: Map<string, number>) => Promise<T>): Promise<T> {
    while (this.paused) await this.paused;
    let release!: () => void;
    this.paused = new Promise<void>((resolve) => (release = resolve));
    try {
      while (this.committing) await this.committing;
      // Every batch up to the heads has its seal in the table, not only in the journal.
      await this.sealing?.store.flush();
      return await action(this.sealing ? this.sealing.sealer.heads() : new Map(this.chainHeads));
    } finally {
      this.paused = undefined;
      release();
      if (this.pending.length > 0) this.schedule();
    }
  }

  /** `now`: commit without lingering (an audit record holds up the request that caused it). */
  private schedule(now = false): void {
    if (this.committing) return;
    if (now && this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    if (this.lingerTimer) return;
    if (now || this.queuedRecords >= this.options.batchMaxRecords || this.options.batchLingerMs === 0) {
      this.startCommitting();
    } else {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.startCommitting();
      }, this.options.batchLingerMs);
    }
  }

  private startCommitting(): void {
    if (this.committing || this.paused) return;
    this.committing = this.commitWhilePending().finally(() => {
      this.committing = undefined;
      // A write that came after the loop's last look but before this callback would otherwise wait forever.
      if (this.pending.length > 0) this.schedule();
    });
  }

  /** Requests that arrive while a batch commits form the next batch: that is the group commit. */
  private async commitWhilePending(): Promise<void> {
    while (this.pending.length > 0 && !this.paused) {
      const batch = this.takeBatch();
      await this.commit(batch);
    }
  }

  private takeBatch(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    let count = 0;
    while (
      this.pending.length > 0 &&
      (count === 0 || (count + this.pending[0].count <= this.options.batchMaxRecords && !this.pending[0].alone))
    ) {
      const write = this.pending.shift()!;
      count += write.count;
      batch.push(write);
      if (write.alone) break;
    }
    return batch;
  }

  /**
   * One batch per tenant chain, with the next sequence number of that chain,
   * encoded back to back into the body of the one insert.
   */
  private chainBatches(batch: PendingWrite[]): { chains: BatchToSeal[]; body: Buffer } {
    const byTenant = new Map<
      string,
      { chainId: string; tenant: string; batchSeq: number; rows: RowRun[]; count: number; minTimeNs: bigint; maxTimeNs: bigint }
    >();
    let bytes = 0;
    for (const write of batch) {
      bytes += write.bytes;
      // Runs of rows of one tenant (a request is usually one run): its chain takes them in order.
      for (let from = 0; from < write.count;) {
        const tenant = write.tenants[from];
        let to = from + 1;
        while (to < write.count && write.tenants[to] === tenant) to++;
        let chain = byTenant.get(tenant);
        if (!chain) {
          const chainId = `${tenant}/${this.options.writerId}`;
          const batchSeq = this.sealing ? this.sealing.sealer.nextSeq(chainId) : (this.chainHeads.get(chainId) ?? 0) + 1;
          chain = { chainId, tenant, batchSeq, rows: [], count: 0, minTimeNs: write.minTimeNs, maxTimeNs: write.maxTimeNs };
          byTenant.set(tenant, chain);
        }
        chain.rows.push({ rows: write.rows, from, to });
        chain.count += to - from;
        if (write.minTimeNs < chain.minTimeNs) chain.minTimeNs = write.minTimeNs;
        if (write.maxTimeNs > chain.maxTimeNs) chain.maxTimeNs = write.maxTimeNs;
        from = to;
      }
    }
    const encoder = new LogLineEncoder(bytes + 96 * batch.reduce((sum, write) => sum + write.count, 0));
    const encoded = [...byTenant.values()].map(({ rows, count, ...chain }) => {
      const start = encoder.offset;
      const prefix = compactClosingPrefixBytes(chain.chainId, chain.batchSeq);
      const lineEnds = new Uint32Array(count);
      let pos = 0;
      for (const run of rows) {
        for (let i = run.from; i < run.to; i++, pos++) lineEnds[pos] = encoder.append(run.rows, i, prefix, pos) - start;
      }
      return { chain, start, end: encoder.offset, lineEnds };
    });
    // Views into the finished buffer: it may have grown (moved) while encoding.
    const body = encoder.bytes();
    const chains = encoded.map(({ chain, start, end, lineEnds }) => ({
      ...chain,
      lineFormat: 'JSONCompactEachRow' as const,
      bytes: body.subarray(start, end),
      lineEnds,
    }));
    return { chains, body };
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    const count = batch.reduce((sum, write) => sum + write.count, 0);
    const stopTimer = this.metrics.commitSeconds.startTimer();
    const { chains, body } = this.chainBatches(batch);
    let requeued = 0;
    try {
      // Checked before sealing: a batch refused here leaves no journaled seal and no sequence number used.
      this.storage.diskGuard?.check('internal');
      if (this.sealing) {
        const seals = this.sealing.sealer.seal(chains);
        // Seal first: if it fails, nothing was stored and the sequence numbers stay free.
        this.sealing.store.journalBatches(seals);
        this.sealing.sealer.advance(seals);
      } else {
        // Unsealed sequence numbers are never reused, so a partly applied failed
        // insert can never collide with a later batch.
        for (const chain of chains) this.chainHeads.set(chain.chainId, chain.batchSeq);
      }
      try {
        const deduplicationToken = this.storage.deduplicatesInserts ? batchDeduplicationToken(chains) : undefined;
        await this.storage.insertLogRows(body, { diskChecked: true, deduplicationToken });
      } catch (error) {
        await this.sealing?.sealer.abort(chains, `insert failed: ${(error as Error).message}`).catch((abortError: unknown) => {
          this.logger.error({ reason: (abortError as Error).message }, 'could not record the aborted batches');
        });
        throw error;
      }
    } catch (error) {
      const refused = error instanceof StorageError && error.kind === 'refused';
      if (refused && batch.length > 1) {
        // Storage refused the data, not the service: the requests go again one by one, so only the one it refuses fails.
        this.logger.warn(
          { reason: (error as Error).message.split('\n')[0], requests: batch.length },
          'storage refused a group commit as data; committing its requests one by one',
        );
        for (const write of batch) write.alone = true;
        this.pending.unshift(...batch);
        requeued = count;
        return;
      }
      if (refused) {
        this.logger.error(
          { reason: (error as Error).message, records: count, receiver: batch[0].receiver },
          "storage refused a request's records as data; refusing it with 400",
        );
        for (const write of batch) {
          this.metrics.recordsRejected.inc({ receiver: write.receiver, reason: 'refused' }, write.count);
          write.reject(new MeshlogError('ML_RECORDS_REFUSED', (error as Error).message.split('\n')[0].slice(0, 300), { cause: error }));
        }
        return;
      }
      this.logger.error({ reason: (error as Error).message, records: count }, 'batch commit failed; refusing its requests with 503');
      for (const write of batch) {
        this.metrics.recordsRejected.inc({ receiver: write.receiver, reason: 'storage' }, write.count);
        write.reject(error instanceof MeshlogError ? error : storageOutage(error));
      }
      return;
    } finally {
      stopTimer();
      this.queuedRecords -= count - requeued;
      // A requeued batch is the whole batch, still waiting: its bytes stay counted.
      if (requeued === 0) for (const write of batch) this.queuedBytes -= write.bytes;
      this.metrics.queueRecords.set(this.queuedRecords);
    }
    this.metrics.batchRecords.observe(count);
    for (const write of batch) {
      this.metrics.recordsCommitted.inc({ receiver: write.receiver }, write.count);
      this.metrics.bytesCommitted.inc({ receiver: write.receiver }, write.bytes);
      write.resolve();
    }
    if (this.committedListeners.length > 0) this.announce(batch);
  }

  /** After the acknowledgements, so listeners never delay them. */
  private announce(batch: PendingWrite[]): void {
    const records = batch.flatMap((write) => write.records ?? []);
    if (records.length === 0) return;
    const listeners = [...this.committedListeners];
    setImmediate(() => {
      for (const listener of listeners) {
        try {
          listener(records);
        } catch (error) {
          this.logger.error({ reason: (error as Error).message }, 'a committed-records listener failed');
        }
      }
    });
  }

  /** Stops taking writes and commits everything already accepted. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    this.startCommitting();
    while (this.committing) await this.committing;
    await this.sealing?.store.flush();
  }
}
