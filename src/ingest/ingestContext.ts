import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { SpanRecord } from '../model/spanRecord.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stage } from '../pipeline/ingestPipeline.js';
import type { RedeliveryFilter } from './redeliveryFilter.js';
import type { LogWriter } from './writer.js';
import type { AuthFailures } from '../security/loginThrottle.js';
import type { RateLimits } from '../security/rateLimits.js';
import type { TenantRegistry } from '../security/tenantRegistry.js';
import type { Storage } from '../storage/engine/storage.js';
import { StorageError, storageOutage } from '../storage/engine/storageError.js';
import type { ConnectionLimits } from './sources/shared/tcpListener.js';
import type { RecordPublisher } from '../cluster/recordStream.js';
import {
  nowNs,
  recordTimeProblem,
  restampOutOfWindow,
  spanTimeProblem,
  storageOnlyWindow,
  type TimeWindow,
} from './sources/shared/timeWindow.js';
import { insertSpans } from '../storage/logs/spanRows.js';

/** What every receiver needs: one way in (pipeline, then the shared writer; HTTP and gRPC through distributor.ts), metrics and limits. */
export interface IngestContext {
  /** For protocols with no per-record answer (syslog, forward): out-of-window records stored at their receipt time instead (see timeWindow.ts). */
  restamp: (records: LogRecord[], receiver: string) => void;
  timeWindow: TimeWindow;
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
  /** In a cluster: processed records and spans go to the replicated stream (every node commits them from there), not to this node's writer. */
  stream?: RecordPublisher;
  metrics: Metrics;
  logger: Logger;
  maxDecompressedBytes: number;
  rateLimits?: RateLimits;
  connectionLimits?: ConnectionLimits;
  /** Records of a disabled tenant are refused, whichever protocol brought them. */
  tenants?: TenantRegistry;
  /** Record times taken (ingest.reject_old_samples…); default: only what storage can hold. */
  timeWindow?: TimeWindow;
}): IngestContext {
  const { writer, pipeline, redeliveries, rateLimits, tenants } = options;
  const timeWindow = options.timeWindow ?? storageOnlyWindow;
  return {
    timeWindow,
    restamp: (records, receiver) => {
      const restamped = restampOutOfWindow(records, timeWindow, nowNs());
      if (restamped > 0) {
        options.metrics.recordsRejected.inc({ receiver, reason: 'timestamp_restamped' }, restamped);
        options.logger.warn(
          { receiver, records: restamped },
          'records with times outside ingest.reject_old_samples_max_age / creation_grace_period stored at their receipt time',
        );
      }
    },
    submit: async (records, receiver) => {
      // The last guard: a receiver that bypassed the distributor still never hands storage a time it cannot hold.
      const now = nowNs();
      for (const record of records) {
        const problem = recordTimeProblem(record, storageOnlyWindow, now);
        if (problem) throw new MeshlogError('ML_DECODE', problem);
      }
      if (tenants || rateLimits) {
        // One pass over the records serves both checks.
        const perTenant = new Map<string, number>();
        for (const record of records) perTenant.set(record.tenant, (perTenant.get(record.tenant) ?? 0) + 1);
        if (tenants) for (const tenant of perTenant.keys()) tenants.assertActive(tenant);
        rateLimits?.ingestRecords(perTenant);
      }
      if (options.stream) return options.stream.publish(pipeline(records), receiver);
      return redeliveries ? redeliveries.write(pipeline(records), receiver) : writer.write(pipeline(records), receiver);
    },
    submitSpans: async (spans) => {
      const now = nowNs();
      for (const span of spans) {
        const problem = spanTimeProblem(span, storageOnlyWindow, now);
        if (problem) throw new MeshlogError('ML_DECODE', problem);
      }
      // In a cluster every node stores the spans from the stream, as it does records.
      if (options.stream) return options.stream.publishSpans(spans);
      try {
        await insertSpans(options.storage, spans);
      } catch (error) {
        // Classified where storage threw: only an outage is retryable.
        if (error instanceof StorageError && error.kind === 'refused') {
          throw new MeshlogError('ML_RECORDS_REFUSED', error.message.split('\n')[0].slice(0, 300), { cause: error });
        }
        throw storageOutage(error);
      }
    },
    metrics: options.metrics,
    logger: options.logger,
    maxDecompressedBytes: options.maxDecompressedBytes,
    rateLimits,
    connectionLimits: options.connectionLimits,
  };
}
