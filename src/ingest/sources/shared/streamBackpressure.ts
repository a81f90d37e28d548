import { setTimeout as sleep } from 'node:timers/promises';
import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import type { Identity } from '../../../security/identity.js';
import type { IngestContext } from '../../ingestContext.js';
import type { Connection } from './tcpListener.js';

/**
 * For stream protocols with no way to ask for a resend (syslog, forward
 * without acks), a full queue or a rate limit is answered by waiting: the
 * connection is not read meanwhile, so the sender is slowed by TCP
 * backpressure and nothing it already sent is lost.
 */
export async function submitWithRetry(ctx: IngestContext, records: LogRecord[], receiver: string, stopping: () => boolean): Promise<void> {
  for (;;) {
    try {
      return await ctx.submit(records, receiver);
    } catch (error) {
      if (!(error instanceof MeshlogError) || !error.retryable || stopping()) throw error;
      await sleep((error.retryAfterSeconds ?? 1) * 1000);
    }
  }
}

export const isRateLimited = (error: unknown): error is MeshlogError => error instanceof MeshlogError && error.code === 'ML_RATE_LIMITED';

/** How often a held-back connection looks again (and notices the server stopping). */
const pacingCheckMs = 200;

/**
 * Takes one ingest request from the identity's bucket, waiting until it
 * passes. `onWait` is told each time the connection is held back. Once the
 * server stops, what was already read goes through unpaced, to be committed
 * before the writer closes.
 */
export async function waitForIngestRequest(
  ctx: IngestContext,
  identity: Identity,
  stopping: () => boolean,
  onWait: (refusal: MeshlogError) => void,
): Promise<void> {
  for (;;) {
    try {
      ctx.rateLimits?.ingestRequest(identity);
      return;
    } catch (error) {
      if (!isRateLimited(error)) throw error;
      if (stopping()) return;
      onWait(error);
      await sleep(pacingCheckMs);
    }
  }
}

/**
 * One stream connection's batches on their way to the writer, paced the same
 * for every stream protocol: a batch first takes a request from its
 * credential's ingest rate (without a credential, or when its sender can be
 * told to resend, it goes unpaced), the connection unread until it may go on
 * (a warning the first time it is held back); at most `maxPending` batches
 * commit at once; each is tracked so that a stop still commits it.
 */
export class ConnectionPacing {
  private throttled = false;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly ctx: IngestContext,
    private readonly connection: Pick<Connection, 'logger' | 'stopping' | 'track'>,
    private readonly protocol: string,
    private readonly maxPending: number,
  ) {}

  /**
   * Queues one batch: `commit` runs once `identity`'s turn came, `failed`
   * should pacing or the commit fail. Resolves when the connection may be
   * read again.
   */
  async submit(identity: Identity | undefined, commit: () => Promise<void>, failed: (error: unknown) => void): Promise<void> {
    const { logger, stopping, track } = this.connection;
    const paced = identity
      ? waitForIngestRequest(this.ctx, identity, stopping, (refusal) => {
          if (!this.throttled)
            logger.warn(
              { identity: identity.name, reason: refusal.message },
              `${this.protocol} connection over its ingest rate limit: reading paused (backpressure)`,
            );
          this.throttled = true;
        })
      : undefined;
    if (this.pending.size >= this.maxPending) await Promise.race(this.pending);
    const work = (paced ?? Promise.resolve()).then(commit).catch(failed);
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
    track(work);
    // Tracked before waiting, so a stop in the meantime still commits this batch.
    await paced;
  }

  /** Waits for every batch queued so far, committed or not. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
