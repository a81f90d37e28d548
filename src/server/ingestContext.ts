import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { LogWriter } from '../pipeline/writer.js';

/** What every ingest route needs: the shared writer, metrics and limits. */
export interface IngestContext {
  writer: LogWriter;
  metrics: Metrics;
  logger: Logger;
  maxDecompressedBytes: number;
}
