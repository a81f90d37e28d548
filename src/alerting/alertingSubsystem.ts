import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { LogRecord } from '../model/logRecord.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { registerSecret } from '../observability/credentialScrubber.js';
import { AlertStore, type AlertTransition } from '../storage/stores/alertStore.js';
import type { Storage } from '../storage/engine/storage.js';
import { Alerting } from './alerting.js';
import { alertRoutes } from './alertRoutes.js';
import { ruleBacktestRoutes } from './ruleBacktestRoutes.js';
import { AnomalyMonitor } from './anomaly/anomalyMonitor.js';
import type { ClusterSecrets } from '../cluster/clusterSecrets.js';
import type { Leases } from '../cluster/leases.js';
import type { ReplicatedOwners } from '../cluster/replicatedKinds.js';
import { oneNodeActs } from '../cluster/sharedJobs.js';
import type { ReadMasker } from '../query/readMasking.js';
import type { LokiQueryDeps } from '../query/routes/lokiQueryRoutes.js';
import { AlertFingerprints, fingerprintKeyOf } from './alertFingerprint.js';
import { maskedNotification } from './notify/maskedNotification.js';

export interface AlertingSubsystemDeps {
  storage: Storage;
  /** The read side's SQL runner, query budgets, database and limits: rules and backtests query as readers do. */
  queries: Pick<LokiQueryDeps, 'runner' | 'budgets' | 'database' | 'limits'>;
  audit: AuditTrail;
  /** Committed records (the writer's onCommitted), which the anomaly detectors watch. */
  committed: (listener: (records: LogRecord[]) => void) => () => void;
  /** A mined pattern's template, for new-pattern findings; undefined when pattern mining is off. */
  templateOf: (tenant: string, service: string, id: string) => string | undefined;
  /** Alert transitions open and resolve incidents. */
  incidentAlert: (transition: AlertTransition) => void;
  /** In a cluster: each rule group is evaluated, and anomalies notified, by one node. */
  leases: Leases | undefined;
  /** Read masking: what receivers get of sensitive values (they cannot unmask). */
  masker: ReadMasker;
  /** The per-installation key of alert fingerprints; default <data_dir>-alert-fingerprint.key. */
  fingerprintKeyFile: string;
  /** In a cluster: where the one fingerprint key of every node is (instead of the file). */
  clusterSecrets: ClusterSecrets | undefined;
  logger: Logger;
}

/** Alert rules, their receivers and the anomaly detectors (the `alerting` section); nothing when `alerting.enabled` is off. */
export async function alertingSubsystem(config: MeshlogConfig['alerting'], deps: AlertingSubsystemDeps) {
  // A Slack webhook URL is its credential: found verbatim in anything logged or audited (config.change), alerting on or off.
  for (const slack of config.slack) registerSecret(slack.url);
  // A rule is backtested against stored logs whether or not alerting runs.
  const backtest: FastifyPluginAsync = async (app) => ruleBacktestRoutes(app, deps.queries);
  if (!config.enabled) return { alerting: undefined, replicated: {}, routes: backtest };
  const alerting = await Alerting.open(config, {
    runner: deps.queries.runner,
    budgets: deps.queries.budgets,
    database: deps.queries.database,
    limits: deps.queries.limits,
    store: new AlertStore(deps.storage),
    logger: deps.logger,
    incidentAlert: deps.incidentAlert,
    leases: deps.leases,
    fingerprints: new AlertFingerprints(await fingerprintKeyOf(deps.fingerprintKeyFile, deps.clusterSecrets)),
    forReceivers: (alert) => (deps.masker.active ? maskedNotification(deps.masker, alert) : alert),
  });
  const anomaly = config.anomaly;
  const anomalies = anomaly.enabled
    ? new AnomalyMonitor(
        {
          bucketMs: anomaly.bucket_ms,
          latenessMs: anomaly.lateness_ms ?? Math.max(anomaly.bucket_ms / 2, 5000),
          baselineBuckets: anomaly.baseline_buckets,
          warmupBuckets: anomaly.warmup_buckets,
          threshold: anomaly.threshold,
          minVolume: anomaly.min_volume,
          minErrors: anomaly.min_errors,
          silentBuckets: anomaly.silent_buckets,
          newPatternWarmupLines: anomaly.new_pattern_warmup_lines,
          resolveAfterBuckets: anomaly.resolve_after_buckets,
        },
        anomaly.overrides.map((o) => ({
          tenant: o.tenant,
          serviceName: o.service,
          enabled: o.enabled,
          threshold: o.threshold,
          minVolume: o.min_volume,
          minErrors: o.min_errors,
          silentBuckets: o.silent_buckets,
        })),
        {
          // meshlog's own audit trail is not a service to watch.
          committed: (listener) => deps.committed((records) => listener(records.filter((record) => record.tenant !== '_audit'))),
          templateOf: deps.templateOf,
          store: alerting.store,
          // In a cluster every node's detectors see the whole stream; one node sends what they find.
          notify: oneNodeActs(deps.leases, 'anomaly-detectors', (alert) => alerting.notify(alert)),
          logger: deps.logger,
        },
      )
    : undefined;
  const routes: FastifyPluginAsync = async (app) => {
    ruleBacktestRoutes(app, deps.queries);
    alertRoutes(app, alerting, deps.audit);
  };
  return {
    alerting,
    /** In a cluster: rule groups and silences, the same on every node. */
    replicated: { ruleGroups: alerting.ruleGroupReplica, silences: alerting.silenceReplica } satisfies Partial<ReplicatedOwners>,
    routes,
    async stop(): Promise<void> {
      await anomalies?.stop();
      await alerting.stop();
    },
  };
}
