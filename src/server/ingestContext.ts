import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { SpanRecord } from '../model/spanRecord.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stage } from '../pipeline/ingestPipeline.js';
import type { RedeliveryFilter } from '../pipeline/redeliveryFilter.js';
import type { LogWriter } from '../pipeline/writer.js';
import type { Storage } from '../storage/storage.js';

/** What every receiver needs: one way in (pipeline, then the shared writer), metrics and limits. */
export interface IngestContext {
  /** Runs the pipeline and resolves once every record is committed. */
  submit: (records: LogRecord[], receiver: string) => Promise<void>;
  /** Stores spans (one insert per request, outside the log pipeline) and resolves once they are committed. */
  submitSpans: (spans: SpanRecord[]) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
  maxDecompressedBytes: number;
}

export function ingestContext(options: {
  writer: LogWriter;
  storage: Storage;
  pipeline: Stage;
  /** Drops redelivered records (same log.record.uid) before they reach the writer. */
  redeliveries?: RedeliveryFilter;
  metrics: Metrics;
  logger: Logger;
  maxDecompressedBytes: number;
}): IngestContext {
  const { writer, pipeline, redeliveries } = options;
  return {
    submit: (records, receiver) => (redeliveries ? redeliveries.write(pipeline(records), receiver) : writer.write(pipeline(records), receiver)),
    submitSpans: async (spans) => {
      try {
        await options.storage.insertSpans(spans);
      } catch (error) {
        throw new MeshlogError('ML_UNAVAILABLE', (error as Error).message, { cause: error });
      }
    },
    metrics: options.metrics,
    logger: options.logger,
    maxDecompressedBytes: options.maxDecompressedBytes,
  };
}
