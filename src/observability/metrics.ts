import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one server; a fresh registry per server keeps tests independent. */
export class Metrics {
  readonly registry = new Registry();

  readonly recordsReceived = new Counter({
    name: 'meshlog_records_received_total',
    help: 'Records decoded from requests, per receiver',
    labelNames: ['receiver'] as const,
    registers: [this.registry],
  });
  readonly bytesReceived = new Counter({
    name: 'meshlog_bytes_received_total',
    help: 'Request body bytes received (as sent, before decompression), per receiver',
    labelNames: ['receiver'] as const,
    registers: [this.registry],
  });
  readonly recordsCommitted = new Counter({
    name: 'meshlog_records_committed_total',
    help: 'Records committed to storage, per receiver',
    labelNames: ['receiver'] as const,
    registers: [this.registry],
  });
  readonly bytesCommitted = new Counter({
    name: 'meshlog_bytes_committed_total',
    help: 'Serialized row bytes committed to storage, per receiver',
    labelNames: ['receiver'] as const,
    registers: [this.registry],
  });
  readonly recordsRejected = new Counter({
    name: 'meshlog_records_rejected_total',
    help: 'Records refused (invalid, overload, storage failure), per receiver and reason',
    labelNames: ['receiver', 'reason'] as const,
    registers: [this.registry],
  });
  readonly requestsRejected = new Counter({
    name: 'meshlog_requests_rejected_total',
    help: 'Requests refused before any record was decoded, per error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly queriesCancelled = new Counter({
    name: 'meshlog_queries_cancelled_total',
    help: 'Queries stopped before their end: timeout (query.timeout), client_closed (the client went away), shutdown',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly batchRecords = new Histogram({
    name: 'meshlog_batch_records',
    help: 'Records per storage insert (group commit)',
    buckets: [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000],
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: 'meshlog_commit_duration_seconds',
    help: 'Time to commit one batch to storage',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly redactions = new Counter({
    name: 'meshlog_redactions_total',
    help: 'Values redacted at ingest, per rule (counts only, never the values)',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly recordsDeduplicated = new Counter({
    name: 'meshlog_records_deduplicated_total',
    help: 'Records dropped because their log.record.uid was already committed (redeliveries)',
    labelNames: ['receiver'] as const,
    registers: [this.registry],
  });
  readonly recordsUnparsed = new Counter({
    name: 'meshlog_records_unparsed_total',
    help: 'Records stored with their body as received: in no known format (no_format) or a parser failed (parser_error), per receiver',
    labelNames: ['receiver', 'reason'] as const,
    registers: [this.registry],
  });
  readonly queueRecords = new Gauge({
    name: 'meshlog_queue_records',
    help: 'Records accepted and waiting for commit',
    registers: [this.registry],
  });

  /** Free bytes of the data directory's file system, when the server watches it (embedded chDB). */
  diskFree: (() => number) | undefined;
  readonly dataDiskFreeBytes = new Gauge({
    name: 'meshlog_data_disk_free_bytes',
    help: "Bytes free on the data directory's file system; ingest is refused below limits.min_free_disk_bytes",
    registers: [this.registry],
    collect: () => {
      if (this.diskFree) this.dataDiskFreeBytes.set(this.diskFree());
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'meshlog_process_' });
  }
}
