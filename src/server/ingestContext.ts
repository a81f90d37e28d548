import type { Logger } from 'pino';
import type { LogRecord } from '../model/logRecord.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stage } from '../pipeline/ingestPipeline.js';
import type { LogWriter } from '../pipeline/writer.js';

/** What every receiver needs: one way in (pipeline, then the shared writer), metrics and limits. */
export interface IngestContext {
  /** Runs the pipeline and resolves once every record is committed. */
  submit: (records: LogRecord[], receiver: string) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
  maxDecompressedBytes: number;
}

export function ingestContext(options: {
  writer: LogWriter;
  pipeline: Stage;
  metrics: Metrics;
  logger: Logger;
  maxDecompressedBytes: number;
}): IngestContext {
  const { writer, pipeline } = options;
  return {
    submit: (records, receiver) => writer.write(pipeline(records), receiver),
    metrics: options.metrics,
    logger: options.logger,
    maxDecompressedBytes: options.maxDecompressedBytes,
  };
}
