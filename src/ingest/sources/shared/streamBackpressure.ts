import { setTimeout as sleep } from 'node:timers/promises';
import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import type { Identity } from '../../../security/identity.js';
import type { IngestContext } from '../../ingestContext.js';

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
