import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import { StorageError } from '../storage/engine/storageError.js';
import type { Storage } from '../storage/engine/storage.js';
import { insertSpans } from '../storage/logs/spanRows.js';
import { spanKey, storedSpans } from '../storage/logs/storedSpans.js';
import type { SpanRecord } from '../model/spanRecord.js';
import type { CommitSpans } from './streamConsumer.js';

/** Spans of a stream message without those an erasure executed after the stream took them covers. */
export type DropErasedSpans = (spans: SpanRecord[], seq: number, streamTimeMs: number) => Promise<SpanRecord[]>;

/**
 * Which spans storage holds, for the messages of one turn of the event loop
 * at once: a fetch hands the consumer up to 500 messages together, and one
 * query each cost more than their inserts (measured in
 * bench/clusterSpanCommit.ts). A lookup that fails fails every message of
 * its turn (each is retried).
 */
function sharedLookups(storage: Storage): (spans: SpanRecord[]) => Promise<Set<string>> {
  let waiting: { spans: SpanRecord[]; resolve: (stored: Set<string>) => void; reject: (error: unknown) => void }[] = [];
  const lookUp = async () => {
    const turn = waiting;
    waiting = [];
    try {
      const stored = await storedSpans(
        storage,
        turn.flatMap((message) => message.spans),
      );
      for (const message of turn) message.resolve(stored);
    } catch (error) {
      for (const message of turn) message.reject(error);
    }
  };
  return (spans) =>
    new Promise((resolve, reject) => {
      if (waiting.length === 0) setImmediate(() => void lookUp());
      waiting.push({ spans, resolve, reject });
    });
}

/**
 * How a node stores the spans of a stream message: those it holds already
 * (by tenant, trace id and span id) are left out. Every message is looked
 * up, not only redelivered ones: a consumer created again replays the stream
 * with fresh delivery counts, and the spans table keeps no stream position
 * to tell which messages it saw; the messages that arrive together share one
 * lookup. Spans an erasure executed after the stream
 * took them covers are dropped (a node replaying the stream, or behind it
 * when the erasure ran, never stores erased spans). Spans refused by storage
 * as data are ML_RECORDS_REFUSED (the message is dropped); anything else is
 * retried.
 */
export function spanCommitter(storage: Storage, withoutErased: DropErasedSpans, logger: Logger): CommitSpans {
  const storedOf = sharedLookups(storage);
  return async (spans, seq, streamTimeMs) => {
    try {
      const stored = spans.length === 0 ? new Set<string>() : await storedOf(spans);
      const fresh = stored.size === 0 ? spans : spans.filter((span) => !stored.has(spanKey(span)));
      if (fresh.length < spans.length)
        logger.info({ skipped: spans.length - fresh.length }, 'spans of the stream stored before; stored once');
      await insertSpans(storage, await withoutErased(fresh, seq, streamTimeMs));
    } catch (error) {
      if (error instanceof StorageError && error.kind === 'refused')
        throw new MeshlogError('ML_RECORDS_REFUSED', error.message.split('\n')[0].slice(0, 300), { cause: error });
      throw error;
    }
  };
}
