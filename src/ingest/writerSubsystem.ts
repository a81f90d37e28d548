import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import { PatternRecorder } from '../pipeline/patterns/patternRecorder.js';
import type { Storage } from '../storage/engine/storage.js';
import { RecordIdStore } from '../storage/logs/recordIdStore.js';
import { PatternStore } from '../storage/stores/patternStore.js';
import { RedeliveryFilter } from './redeliveryFilter.js';
import { LogWriter, type WriterSealing } from './writer.js';

/**
 * Where accepted records go (the `ingest` queue and dedup keys, `patterns`):
 * the writer, which batches, seals and commits them; the redelivery filter in
 * front of it; and the pattern recorder that mines what is stored, with the
 * store it keeps the patterns in (the query side reads them there). Stopping
 * commits what was accepted, then stores the mined patterns.
 */
export async function writerSubsystem(
  config: Pick<MeshlogConfig, 'ingest' | 'patterns'>,
  deps: {
    storage: Storage;
    writerId: string;
    metrics: Metrics;
    sealing: WriterSealing | undefined;
    logger: Logger;
  },
) {
  const { storage, metrics, logger } = deps;
  const patternStore = new PatternStore(storage);
  const patterns = config.patterns.enabled ? await PatternRecorder.open(config.patterns, patternStore, logger) : undefined;
  const writer = await LogWriter.open(
    storage,
    {
      writerId: deps.writerId,
      maxQueuedRecords: config.ingest.max_queued_records,
      maxQueuedBytes: config.ingest.max_queued_bytes,
      batchMaxRecords: config.ingest.batch_max_records,
      batchLingerMs: config.ingest.batch_linger_ms,
    },
    metrics,
    logger,
    deps.sealing,
  );
  const recordIds = new RecordIdStore(storage);
  const redeliveries = new RedeliveryFilter(
    {
      maxRememberedIds: config.ingest.dedup_remembered_ids,
      clockSkewMs: config.ingest.dedup_clock_skew_ms,
      maxForgottenIds: config.ingest.dedup_forgotten_ids,
      storageEmptyAtStart: !(await recordIds.anyStored()),
    },
    {
      write: (records, receiver) => writer.write(records, receiver),
      storedIds: (query) => recordIds.storedIds(query),
      countDropped: (receiver, count) => metrics.recordsDeduplicated.inc({ receiver }, count),
    },
  );
  return {
    writer,
    patterns,
    patternStore,
    redeliveries,
    async stop(): Promise<void> {
      await writer.close();
      await patterns?.stop();
    },
  };
}
