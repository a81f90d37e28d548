import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { accessSubsystem } from '../access/accessSubsystem.js';
import { alertingSubsystem } from '../alerting/alertingSubsystem.js';
import { defaultFingerprintKeyFile } from '../alerting/alertFingerprint.js';
import { archiveSubsystem } from '../archive/archiveSubsystem.js';
import { backupSubsystem } from '../backup/backupSubsystem.js';
import { pendingRestore } from '../backup/restoreMarker.js';
import { clusterSubsystem } from '../cluster/clusterSubsystem.js';
import { storeJobs } from '../cluster/sharedJobs.js';
import { reportsSubsystem } from '../compliance/reportsSubsystem.js';
import { recordConfigChange } from '../config/configChanges.js';
import type { MeshlogConfig } from '../config/schema.js';
import { incidentsSubsystem } from '../incidents/incidentsSubsystem.js';
import { ingestSubsystem } from '../ingest/ingestSubsystem.js';
import { writerSubsystem } from '../ingest/writerSubsystem.js';
import { integritySubsystem } from '../integrity/integritySubsystem.js';
import { Metrics } from '../observability/metrics.js';
import type { PatternRecorder } from '../pipeline/patterns/patternRecorder.js';
import { policySubsystem } from '../policy/policySubsystem.js';
import { querySubsystem } from '../query/querySubsystem.js';
import { governanceSubsystem } from '../retention/governanceSubsystem.js';
import { accessReviewSubsystem } from '../security/accessReviewSubsystem.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { storageSubsystem } from '../security/storageSubsystem.js';
import { serverTlsOptions } from '../security/tlsOptions.js';
import { openStorage } from '../storage/engine/openStorage.js';
import { PolicyStore } from '../storage/stores/policyStore.js';
import { buildHttpApp } from './httpApp.js';
import type { StartupFacts } from './startupSummary.js';
import type { Subsystem } from './subsystem.js';

/** A stable id for this server's integrity chains, kept in the data directory. */
function writerId(dataDir: string): string {
  const path = join(dataDir, 'writer-id');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const id = `w-${randomBytes(6).toString('hex')}`;
  writeFileSync(path, `${id}\n`, { flag: 'wx' });
  return id;
}

/**
 * One meshlog process: storage, writer and listeners. Owns their lifecycle:
 * started in order, stopped in reverse (stop accepting, flush, commit, close).
 */
export class MeshlogServer {
  private patterns: PatternRecorder | undefined;
  /** Started in this order, stopped in reverse. */
  private subsystems: Subsystem[] = [];
  private http: FastifyInstance | undefined;
  private ingest: ReturnType<typeof ingestSubsystem> | undefined;
  private query: ReturnType<typeof querySubsystem> | undefined;
  private storageEvents: ReturnType<typeof storageSubsystem> | undefined;
  private audit: AuditTrail | undefined;
  private ready = false;
  /** Where the admin token came from, for the start-up summary (never the token). */
  private adminToken: StartupFacts['adminToken'];
  readonly metrics = new Metrics();

  constructor(
    private readonly config: MeshlogConfig,
    private readonly logger: Logger,
  ) {}

  /** Starts everything; resolves with the bound addresses (for the start-up summary) once requests are taken. */
  async start(): Promise<StartupFacts> {
    const { config, logger, metrics } = this;
    mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });

    const id = writerId(config.data_dir);
    const cluster = await clusterSubsystem(config.cluster, config.cluster.node_id ?? id, logger);
    const leases = cluster?.leases;
    const storage = await openStorage(config, logger, leases && ((name, job) => leases.exclusive(name, job)));
    this.subsystems.push({ stop: () => storage.close() });
    const diskGuard = storage.diskGuard;
    if (diskGuard) metrics.diskFree = () => diskGuard.freeBytes();
    const integrityPart = await integritySubsystem(config, storage, id, logger);
    this.subsystems.push(integrityPart);
    const { sealing, signer } = integrityPart;
    const written = await writerSubsystem(config, { storage, writerId: id, metrics, sealing, logger });
    this.subsystems.push(written);
    const { writer, redeliveries, patternStore } = written;
    this.patterns = written.patterns;
    const recordStream = await cluster?.openRecordStream({
      storage,
      commit: (records, receiver) => redeliveries.write(records, receiver),
      // Called only once consuming starts (last), when the erasure requests exist.
      withoutErased: (records, seq, streamTimeMs) => erasures.withoutErased(records, seq, streamTimeMs),
      withoutErasedSpans: (spans, seq, streamTimeMs) => erasures.withoutErasedSpans(spans, seq, streamTimeMs),
      registry: metrics.registry,
    });
    if (recordStream) this.subsystems.push(recordStream);
    const stream = recordStream?.stream;
    const access = await accessSubsystem(config, { storage, auditWriter: writer, logger });
    this.subsystems.push(access);
    const { keys, users, tenants, audit, auditStore, sessions } = access;
    this.audit = audit;
    this.adminToken = access.adminToken;
    integrityPart.recordQuarantinesIn(audit);
    const storageEvents = storageSubsystem(storage, { dataDir: config.data_dir, keyFile: config.encryption.key_file, audit, logger });
    this.storageEvents = storageEvents;
    this.subsystems.push(storageEvents);
    const ingest = ingestSubsystem(config, {
      writer,
      storage,
      redeliveries,
      patterns: this.patterns,
      stream,
      limitShare: config.limits.strategy === 'global' ? cluster?.nodes : undefined,
      tenants,
      authenticate: access.authenticate,
      authFailures: access.authFailures,
      metrics,
      logger,
    });
    this.ingest = ingest;
    this.subsystems.push(ingest);
    const query = querySubsystem(
      {
        ...config,
        redaction: config.pipeline.redaction,
        retentionPeriod: config.retention.default_max_age,
        patternsEnabled: config.patterns.enabled,
      },
      {
        storage,
        metrics,
        audit,
        committed: (listener) => writer.onCommitted(listener),
        patterns: this.patterns && patternStore,
        logger,
      },
    );
    this.query = query;
    this.subsystems.push(query);
    const { runner, budgets, database, limits } = query.queries;
    const incidentsPart = incidentsSubsystem(config.incidents, { storage, audit, signer, sealing, logger });
    this.subsystems.push(incidentsPart);
    const { incidents } = incidentsPart;
    const policyStore = new PolicyStore(storage);
    // Retention, erasure and monthly reports: under a lease with a shared ClickHouse, on every node's own copy when embedded.
    const runStoreJob = storeJobs(leases, Boolean(config.clickhouse_url));
    const governance = governanceSubsystem(config, {
      storage,
      runJob: runStoreJob,
      seals: sealing?.store,
      audit,
      signer,
      // What incidents pinned is held like a legal hold, until resolved plus incidents.hold_after_resolve.
      holdAlso: () => incidents.recordHolds(),
      forgetPatterns: (tenant, patterns) => this.patterns?.forget(tenant, patterns),
      streamPosition: recordStream?.lastSequence,
      replicatedLedgers: await cluster?.ledgers(),
      logger,
    });
    this.subsystems.push(governance);
    // Before any disposal or erasure appends to it: a ledger lost with the disk comes back from the cluster.
    if (cluster) await governance.ledger.replicateTo(await cluster.ledgerReplica(), logger);
    const { disposer, erasures, retentionStore, deletionLock } = governance;
    const archive = archiveSubsystem(config, {
      sealing,
      audit,
      longestRetentionSeconds: (tenant) => disposer.longestRetentionSeconds(tenant),
    });
    this.subsystems.push(archive);
    this.subsystems.push(backupSubsystem(config, { storage, writer, lock: deletionLock, masterKey: archive.masterKey, audit }));
    this.subsystems.push(
      reportsSubsystem(config, {
        storage,
        runJob: runStoreJob,
        audit,
        logger,
        reported: {
          auditStore,
          seals: sealing?.store,
          signer,
          keys: () => keys.list(),
          metrics,
          retention: retentionStore,
          policy: policyStore,
          incidents: incidentsPart.store,
          recordHolds: () => incidents.recordHolds(),
        },
      }),
    );
    const alertingPart = await alertingSubsystem(config.alerting, {
      storage,
      runner,
      budgets,
      database,
      limits,
      audit,
      committed: (listener) => writer.onCommitted(listener),
      templateOf: (tenant, service, id) => this.patterns?.templateOf(tenant, service, id),
      incidentAlert: incidents.alertListener(),
      leases,
      masker: query.masking.masker,
      fingerprintKeyFile: defaultFingerprintKeyFile(config.data_dir),
      clusterSecrets: await cluster?.secrets(),
      logger,
    });
    this.subsystems.push(alertingPart);
    const alerting = alertingPart.alerting;
    await cluster?.replicate({
      keys: keys.replica,
      users: users.replica,
      tenants: tenants.replica,
      savedQueries: query.savedQueries.replica,
      sessions,
      loginThrottle: access.authFailures.throttle,
      legalHolds: retentionStore.holdReplica,
      erasures: erasures.replica,
      signingKeys: integrityPart.keySet,
      ruleGroups: alerting?.ruleGroupReplica,
      silences: alerting?.silenceReplica,
    });
    this.subsystems.push(
      await policySubsystem(config, {
        storage,
        store: policyStore,
        audit,
        signer,
        alerting,
        keys: () => keys.list(),
        users: () => users.list(),
        erasures: () => erasures.list(),
        masker: query.masking.masker,
        logger,
      }),
    );
    this.subsystems.push(
      accessReviewSubsystem(config.access_review, {
        auditStore,
        audit,
        keys,
        users,
        endSessionsOf: sessions && ((ids, reason) => sessions.endSessionsOf(ids, reason)),
        signingKey: signer,
        tenants,
        logger,
      }),
    );
    this.http = buildHttpApp({
      config,
      logger,
      metrics,
      authenticate: access.authenticate,
      audit,
      authFailures: access.authFailures,
      isReady: () => this.ready,
      dependencyProblem: async () => cluster?.problem(),
      ingestPaused: () => diskGuard?.refusal('ingest'),
      masking: query.masking,
      rateLimits: ingest.rateLimits,
      tenants,
      users,
      sessions,
    });
    for (const subsystem of this.subsystems) if (subsystem.routes) await this.http.register(subsystem.routes);
    const httpUrl = await this.http.listen({ host: config.host, port: config.http_port });
    const addresses = await ingest.startListeners();
    this.ready = true;
    for (const subsystem of this.subsystems) await subsystem.start?.();
    const configSha256 = await recordConfigChange(config, auditStore, audit, 'start');
    await audit.record({
      action: 'server.start',
      outcome: 'success',
      detail: { http: httpUrl, listeners: addresses, auth: config.auth, sealing: config.integrity.seal, config_sha256: configSha256 },
    });
    const restored = pendingRestore(config.data_dir);
    if (restored) {
      await audit.record({ action: 'backup.restore', outcome: 'success', detail: restored.detail });
      restored.recordedNow();
    }
    await storageEvents.recordStartEvents();
    await cluster?.startConsuming();
    logger.info(
      {
        http: httpUrl,
        listeners: addresses,
        storage: storage.embedded ? `embedded chDB in ${config.data_dir}` : 'ClickHouse server',
      },
      'meshlog is ready',
    );
    return { httpUrl, listeners: addresses, adminToken: this.adminToken, embedded: storage.embedded };
  }

  /** SIGHUP: every TLS listener re-reads its certificate and key (and client CA) without dropping connections. */
  reloadCertificates(): void {
    const reloaders: [string, () => string | undefined][] = [];
    const httpTls = this.config.tls;
    if (httpTls && this.http) {
      reloaders.push([
        'http',
        () => {
          (this.http!.server as import('node:https').Server).setSecureContext(serverTlsOptions(httpTls));
          return httpTls.cert_file;
        },
      ]);
    }
    for (const listener of this.ingest?.listeners ?? [])
      if (listener.reloadCertificates) reloaders.push([listener.name, () => listener.reloadCertificates!()]);
    for (const [name, reload] of reloaders) {
      try {
        const certFile = reload();
        if (certFile === undefined) continue;
        this.logger.info({ listener: name, cert: certFile }, 'TLS certificate reloaded');
        void this.audit?.record({ action: 'config.tls_reload', outcome: 'success', target: name, detail: { cert_file: certFile } });
      } catch (error) {
        this.logger.error({ listener: name, reason: (error as Error).message }, 'TLS certificate reload failed; keeping the previous one');
        void this.audit?.record({
          action: 'config.tls_reload',
          outcome: 'failure',
          target: name,
          detail: { reason: (error as Error).message },
        });
      }
    }
  }

  /** SIGHUP: a key file changed by hand or by the offline `meshlog keys rotate-storage` is taken up without a restart. */
  async reloadStorageKeys(): Promise<void> {
    await this.storageEvents?.reloadKeys();
  }

  /** Graceful stop: refuse new requests, let in-flight ones finish, commit what was accepted, close storage. */
  async stop(): Promise<void> {
    this.ready = false;
    // Queries still running stop now (answered 503, retry later) rather than holding up the stop.
    this.query?.shutdown();
    await Promise.all([this.http?.close(), ...(this.ingest?.listeners ?? []).map((listener) => listener.stop())]);
    await this.audit?.record({ action: 'server.stop', outcome: 'success' }).catch(() => undefined);
    // Each subsystem in the reverse of its start: the writer commits what was accepted, the last checkpoint covers it, storage closes.
    for (const subsystem of [...this.subsystems].reverse()) await subsystem.stop?.();
    this.logger.info('meshlog stopped');
  }
}
