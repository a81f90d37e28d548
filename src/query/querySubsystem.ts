import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { LogRecord } from '../model/logRecord.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Storage } from '../storage/engine/storage.js';
import { logQueryRunner } from '../storage/logs/logQueries.js';
import { TraceQueries } from '../storage/logs/traceQueries.js';
import type { PatternStore } from '../storage/stores/patternStore.js';
import { SavedQueryStore } from '../storage/stores/savedQueryStore.js';
import { QueryBudgets } from './logql/queryBudget.js';
import { defaultQueryLimits } from './logql/queryContext.js';
import { ReadMasker } from './readMasking.js';
import type { ReadMaskingDeps } from './readPolicy.js';
import { exportRoutes } from './routes/exportRoutes.js';
import { lokiQueryRoutes, type LokiQueryDeps } from './routes/lokiQueryRoutes.js';
import { patternRoutes } from './routes/patternRoutes.js';
import { savedQueryRoutes } from './routes/savedQueryRoutes.js';
import { tailRoutes } from './routes/tailRoutes.js';
import { traceRoutes } from './routes/traceRoutes.js';
import { TailHub } from './tail/tailHub.js';
import type { ReplicatedOwners } from '../cluster/replicatedKinds.js';

/** The config sections the read side is built from (config/ is of this layer, so they are taken by shape). */
export interface QuerySettings {
  database: string;
  query: { timeout: number; max_lines: number; pushdown: boolean };
  tail: { buffer_lines: number; max_subscribers: number };
  masking: { fields: string[] };
  /** pipeline.redaction: records its observe mode marked are masked at read time. */
  pipeline: { redaction: { enabled: boolean; mode: string; rules: string[]; custom: { name: string; pattern: string }[] } };
  /** retention.default_max_age, as Grafana Logs Drilldown reads it. */
  retention: { default_max_age: string };
  patterns: { enabled: boolean };
}

export interface QuerySubsystemDeps {
  storage: Storage;
  metrics: Metrics;
  audit: AuditTrail;
  /** Committed records (the writer's onCommitted), which live tails follow. */
  committed: (listener: (records: LogRecord[]) => void) => () => void;
  /** Mined patterns; absent when pattern mining is off. */
  patterns: PatternStore | undefined;
  logger: Logger;
}

/**
 * The read side: query budgets, the SQL runner, read masking and the live tail
 * hub, with their routes (Loki's read API, patterns, tail, export, traces,
 * saved queries). Stopping cancels the queries still running.
 */
export function querySubsystem(settings: QuerySettings, deps: QuerySubsystemDeps) {
  const { query } = settings;
  const { redaction } = settings.pipeline;
  // Every query runs under query.timeout and is cancelled when its client leaves or the server stops.
  const budgets = new QueryBudgets(query.timeout, (reason) => {
    deps.metrics.queriesCancelled.inc({ reason });
    deps.logger.info({ reason }, 'query cancelled');
  });
  const queries: LokiQueryDeps = {
    runner: logQueryRunner(deps.storage, { maxExecutionSeconds: Math.max(1, Math.ceil(query.timeout / 1000)) }),
    budgets,
    database: settings.database,
    limits: { ...defaultQueryLimits, pushdown: query.pushdown },
    maxEntriesLimit: query.max_lines,
    lokiApiVersion: '3.0.0',
    meshlogVersion: '0.1.0',
    drilldown: {
      maxEntriesLimitPerQuery: query.max_lines,
      maxQuerySeries: defaultQueryLimits.maxSeries,
      queryTimeoutMs: query.timeout,
      retentionPeriod: settings.retention.default_max_age,
      patternsEnabled: settings.patterns.enabled,
      version: '3.0.0',
    },
  };
  const masker = new ReadMasker({
    fields: settings.masking.fields,
    observe: redaction.enabled && redaction.mode === 'observe' ? { rules: redaction.rules, custom: redaction.custom } : undefined,
  });
  const masking: ReadMaskingDeps = { masker, audit: deps.audit };
  const hub = new TailHub(deps.committed, { bufferLines: settings.tail.buffer_lines, maxSubscribers: settings.tail.max_subscribers });
  const savedQueries = new SavedQueryStore(deps.storage);
  const traces = new TraceQueries(deps.storage);
  const { runner, database, limits } = queries;
  const routes: FastifyPluginAsync = async (app) => {
    lokiQueryRoutes(app, queries);
    if (deps.patterns) patternRoutes(app, { runner, database, store: deps.patterns });
    tailRoutes(app, { hub, runner, budgets, database, limits, maxLines: query.max_lines });
    traceRoutes(app, traces);
    savedQueryRoutes(app, { store: savedQueries, audit: deps.audit });
    exportRoutes(app, { runner, budgets, database, limits, audit: deps.audit });
  };
  return {
    queries,
    budgets,
    masking,
    /** In a cluster: saved queries, the same on every node. */
    replicated: { savedQueries: savedQueries.replica } satisfies Partial<ReplicatedOwners>,
    routes,
    // Queries still running stop now (answered 503, retry later) rather than holding up the stop.
    shutdown: () => budgets.shutdown(),
  };
}
