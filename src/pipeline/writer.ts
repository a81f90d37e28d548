import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { Metrics } from '../observability/metrics.js';
import { closeLogRow, openLogRow } from '../storage/logRows.js';
import type { Storage } from '../storage/storage.js';

export interface WriterOptions {
  /** Stable id of this writer; chains are per tenant and writer so writers never coordinate. */
  writerId: string;
  maxQueuedRecords: number;
  batchMaxRecords: number;
  batchLingerMs: number;
}

interface PendingWrite {
  tenants: string[];
  rows: string[];
  receiver: string;
  resolve: () => void;
  reject: (error: Error) => void;
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
  private committing: Promise<void> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly chainHeads: Map<string, number>;

  constructor(
    private readonly storage: Storage,
    private readonly options: WriterOptions,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    chainHeads: Map<string, number>,
  ) {
    this.chainHeads = new Map(chainHeads);
  }

  static async open(storage: Storage, options: WriterOptions, metrics: Metrics, logger: Logger): Promise<LogWriter> {
    return new LogWriter(storage, options, metrics, logger, await storage.chainHeads());
  }

  get queueDepth(): number {
    return this.queuedRecords;
  }

  /** Resolves once every record is committed; rejects with a retryable MeshlogError otherwise. */
  write(records: LogRecord[], receiver: string): Promise<void> {
    if (this.closed) return Promise.reject(new MeshlogError('ML_SHUTTING_DOWN'));
    if (records.length === 0) return Promise.resolve();
    if (this.queuedRecords > 0 && this.queuedRecords + records.length > this.options.maxQueuedRecords) {
      this.metrics.recordsRejected.inc({ receiver, reason: 'overloaded' }, records.length);
      return Promise.reject(new MeshlogError('ML_OVERLOADED', `${this.queuedRecords} records waiting for commit`));
    }
    const tenants = new Array<string>(records.length);
    const rows = new Array<string>(records.length);
    for (let i = 0; i < records.length; i++) {
      tenants[i] = records[i].tenant;
      rows[i] = openLogRow(records[i]);
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ tenants, rows, receiver, resolve, reject });
      this.queuedRecords += records.length;
      this.metrics.queueRecords.set(this.queuedRecords);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.committing || this.lingerTimer) return;
    if (this.queuedRecords >= this.options.batchMaxRecords || this.options.batchLingerMs === 0) {
      this.startCommitting();
    } else {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.startCommitting();
      }, this.options.batchLingerMs);
    }
  }

  private startCommitting(): void {
    if (this.committing) return;
    this.committing = this.commitWhilePending().finally(() => {
      this.committing = undefined;
    });
  }

  /** Requests that arrive while a batch commits form the next batch: that is the group commit. */
  private async commitWhilePending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.takeBatch();
      await this.commit(batch);
    }
  }

  private takeBatch(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    let count = 0;
    while (this.pending.length > 0 && (count === 0 || count + this.pending[0].rows.length <= this.options.batchMaxRecords)) {
      const write = this.pending.shift()!;
      count += write.rows.length;
      batch.push(write);
    }
    return batch;
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    const sequenceOf = new Map<string, { chainId: string; batchSeq: number; nextPos: number }>();
    const lines: string[] = [];
    let count = 0;
    for (const write of batch) {
      for (let i = 0; i < write.rows.length; i++) {
        const tenant = write.tenants[i];
        let chain = sequenceOf.get(tenant);
        if (!chain) {
          const chainId = `${tenant}/${this.options.writerId}`;
          // Sequence numbers are never reused, even after a failed insert, so a
          // partly applied failed insert can never collide with a later batch.
          const batchSeq = (this.chainHeads.get(chainId) ?? 0) + 1;
          this.chainHeads.set(chainId, batchSeq);
          chain = { chainId, batchSeq, nextPos: 0 };
          sequenceOf.set(tenant, chain);
        }
        lines.push(closeLogRow(write.rows[i], { chainId: chain.chainId, batchSeq: chain.batchSeq, batchPos: chain.nextPos++ }));
      }
      count += write.rows.length;
    }
    const body = lines.join('');
    const stopTimer = this.metrics.commitSeconds.startTimer();
    try {
      await this.storage.insertLogRows(body);
    } catch (error) {
      this.logger.error({ reason: (error as Error).message, records: count }, 'batch commit failed; refusing its requests with 503');
      for (const write of batch) {
        this.metrics.recordsRejected.inc({ receiver: write.receiver, reason: 'storage' }, write.rows.length);
        write.reject(new MeshlogError('ML_UNAVAILABLE', (error as Error).message, { cause: error }));
      }
      return;
    } finally {
      stopTimer();
      this.queuedRecords -= count;
      this.metrics.queueRecords.set(this.queuedRecords);
    }
    this.metrics.batchRecords.observe(count);
    for (const write of batch) {
      let bytes = 0;
      for (const row of write.rows) bytes += row.length;
      this.metrics.recordsCommitted.inc({ receiver: write.receiver }, write.rows.length);
      this.metrics.bytesCommitted.inc({ receiver: write.receiver }, bytes);
      write.resolve();
    }
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
  }
}
