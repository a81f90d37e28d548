import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { SpanRecord } from '../model/spanRecord.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stage } from '../pipeline/ingestPipeline.js';
import type { RedeliveryFilter } from '../pipeline/redeliveryFilter.js';
import type { LogWriter } from '../pipeline/writer.js';
import type { AuthFailures } from '../security/loginThrottle.js';
import type { RateLimits } from '../security/rateLimits.js';
import type { TenantRegistry } from '../security/tenantRegistry.js';
import type { Storage } from '../storage/storage.js';
import type { ConnectionLimits } from './listeners/tcpListener.js';

/** What every receiver needs: one way in (pipeline, then the shared writer), metrics and limits. */
export interface IngestContext {
  /** Runs the pipeline and resolves once every record is committed. */
  submit: (records: LogRecord[], receiver: string) => Promise<void>;
  /** Stores spans (one insert per request, outside the log pipeline) and resolves once they are committed. */
  submitSpans: (spans: SpanRecord[]) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
  maxDecompressedBytes: number;
  /** Per-credential and per-tenant rates; receivers that check a credential take a request from it. */
  rateLimits?: RateLimits;
  /** Connections and slow clients of the TCP listeners. */
  connectionLimits?: ConnectionLimits;
  /** Failed authentications (forward shared key and users, gRPC tokens, client certificates): audited, and throttled per source address. */
  authFailures?: AuthFailures;
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
  rateLimits?: RateLimits;
  connectionLimits?: ConnectionLimits;
  /** Records of a disabled tenant are refused, whichever protocol brought them. */
  tenants?: TenantRegistry;
}): IngestContext {
  const { writer, pipeline, redeliveries, rateLimits, tenants } = options;
  return {
    submit: async (records, receiver) => {
      if (tenants || rateLimits) {
        // One pass over the records serves both checks.
        const perTenant = new Map<string, number>();
        for (const record of records) perTenant.set(record.tenant, (perTenant.get(record.tenant) ?? 0) + 1);
        if (tenants) for (const tenant of perTenant.keys()) tenants.assertActive(tenant);
        rateLimits?.ingestRecords(perTenant);
      }
      return redeliveries ? redeliveries.write(pipeline(records), receiver) : writer.write(pipeline(records), receiver);
    },
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
    rateLimits,
    connectionLimits: options.connectionLimits,
  };
}
