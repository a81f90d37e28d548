import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import { Metrics } from '../observability/metrics.js';
import { LogWriter } from '../ingest/writer.js';
import { integritySubsystem } from '../integrity/integritySubsystem.js';
import { loadAdminToken } from '../security/adminToken.js';
import { ApiKeys } from '../security/apiKeys.js';
import { AuditTrail } from '../security/auditTrail.js';
import { timeWindowFromConfig } from '../ingest/sources/shared/timeWindow.js';
import { anonymousAccess, credentialAuthenticator, type Authenticate } from '../security/authenticator.js';
import { OidcVerifier } from '../security/oidcVerifier.js';
import { serverTlsOptions } from '../security/tlsOptions.js';
import { AccessStore } from '../storage/stores/accessStore.js';
import { AuditStore } from '../storage/stores/auditStore.js';
import { maxAgeSeconds } from '../retention/disposer.js';
import { governanceSubsystem } from '../retention/governanceSubsystem.js';
import { archiveSubsystem } from '../archive/archiveSubsystem.js';
import { pendingRestore } from '../backup/restoreMarker.js';
import { backupSubsystem } from '../backup/backupSubsystem.js';
import { pendingEncryption } from '../storage/engine/encryptDataDir.js';
import { defaultStorageKeyFile, rotateStorageKeyFile, storageKeysEnvironmentVariable } from '../storage/engine/storageKeys.js';
import { MeshlogError } from '../errors.js';
import { recordConfigChange } from '../config/configChanges.js';
import type { Identity } from '../security/identity.js';
import { ComplianceQueries } from '../storage/stores/complianceQueries.js';
import { SavedQueryStore } from '../storage/stores/savedQueryStore.js';
import { reportsSubsystem } from '../compliance/reportsSubsystem.js';
import { Storage } from '../storage/engine/storage.js';
import { logQueryRunner } from '../storage/logs/logQueries.js';
import { defaultQueryLimits } from '../query/logql/queryContext.js';
import { buildHttpApp } from './httpApp.js';
import { ingestContext } from '../ingest/ingestContext.js';
import type { Listener } from '../ingest/listener.js';
import { buildListeners } from '../ingest/ingestListeners.js';
import type { StartupFacts } from './startupSummary.js';
import { composeStages } from '../pipeline/ingestPipeline.js';
import { PatternRecorder } from '../pipeline/patterns/patternRecorder.js';
import { PatternStore } from '../storage/stores/patternStore.js';
import { TailHub } from '../query/tail/tailHub.js';
import { ReadMasker } from '../query/readMasking.js';
import { RateLimits } from '../security/rateLimits.js';
import { AuthFailures, LoginThrottle } from '../security/loginThrottle.js';
import { registerSecret } from '../observability/credentialScrubber.js';
import { TenantRegistry } from '../security/tenantRegistry.js';
import { accessReviewSubsystem } from '../security/accessReviewSubsystem.js';
import { sign } from 'node:crypto';
import { TenantStore } from '../storage/stores/tenantStore.js';
import { UserRegistry } from '../security/userRegistry.js';
import { UserStore } from '../storage/stores/userStore.js';
import { alertingSubsystem } from '../alerting/alertingSubsystem.js';
import type { Subsystem } from './subsystem.js';
import { QueryBudgets } from '../query/logql/queryBudget.js';
import { policySubsystem } from '../policy/policySubsystem.js';
import { PolicyStore } from '../storage/stores/policyStore.js';
import { IncidentStore } from '../storage/stores/incidentStore.js';
import { Incidents } from '../incidents/incidents.js';
import { pipelineStages } from '../pipeline/pipelineStages.js';
import { RedeliveryFilter } from '../ingest/redeliveryFilter.js';
import { RecordIdStore } from '../storage/logs/recordIdStore.js';
import { SessionStore } from '../security/sessions.js';
import { SessionEventStore } from '../storage/stores/sessionEventStore.js';
import { TraceQueries } from '../storage/logs/traceQueries.js';
import { OidcLogin } from '../security/oidcLogin.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../cluster/natsConnection.js';
import { ensureRecordStream, recordPublisher, type RecordPublisher } from '../cluster/recordStream.js';
import { StreamConsumer } from '../cluster/streamConsumer.js';
import { Leases } from '../cluster/leases.js';
import { replicateState } from '../cluster/replicatedKinds.js';
import { storeJobs } from '../cluster/sharedJobs.js';
import { ClusterHealth } from '../cluster/clusterHealth.js';
import { CommittedRecords } from '../cluster/committedRecords.js';
import { StreamMetrics } from '../cluster/streamMetrics.js';
import { consumesStream } from '../cluster/clusterRole.js';
import { StreamPositionStore } from '../storage/logs/streamPositionStore.js';

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
  private storage: Storage | undefined;
  private writer: LogWriter | undefined;
  private patterns: PatternRecorder | undefined;
  /** Started in this order, stopped in reverse. */
  private subsystems: Subsystem[] = [];
  private http: FastifyInstance | undefined;
  private queryBudgets: QueryBudgets | undefined;
  private listeners: Listener[] = [];
  private nats: NatsConnection | undefined;
  private streamConsumer: StreamConsumer | undefined;
  private clusterHealth: ClusterHealth | undefined;
  private leases: Leases | undefined;
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
    const { config, logger } = this;
    mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });

    const id = writerId(config.data_dir);
    const nodeId = config.cluster.node_id ?? id;
    if (config.cluster.enabled) {
      this.nats = await connectNats(config.cluster, nodeId, logger);
      this.leases = await Leases.open(this.nats, config.cluster, nodeId, logger);
    }
    const openStorage = () =>
      Storage.open(
        {
          dataDir: config.data_dir,
          clickhouseUrl: config.clickhouse_url,
          database: config.database,
          encryption: { enabled: config.encryption.enabled, keyFile: config.encryption.key_file },
          minFreeDiskBytes: config.limits.min_free_disk_bytes,
        },
        logger,
      );
    // A shared ClickHouse is migrated by one node at a time (the others then find it done); an embedded store only by its own node.
    this.storage = await (this.leases && config.clickhouse_url
      ? this.leases.exclusive('job.schema-migrations', openStorage)
      : openStorage());
    const storageOpened = this.storage;
    this.subsystems.push({ stop: () => storageOpened.close() });
    const diskGuard = this.storage.diskGuard;
    if (diskGuard) this.metrics.diskFree = () => diskGuard.freeBytes();
    const keys = await ApiKeys.open(new AccessStore(this.storage));
    // A Slack webhook URL is its credential: found verbatim in anything logged or audited (config.change), alerting on or off.
    for (const slack of config.alerting.slack) registerSecret(slack.url);
    const tenantRegistry = await TenantRegistry.open(new TenantStore(this.storage));
    const userRegistry = await UserRegistry.open(new UserStore(this.storage), keys);
    let authenticate: Authenticate;
    if (config.auth === 'token') {
      const admin = loadAdminToken(config.data_dir);
      // The admin token is found verbatim in anything written to the audit trail or the log, wherever a client put it.
      registerSecret(admin.token);
      this.adminToken = admin.file ? { fromEnv: false, file: resolve(admin.file), generated: admin.generated ?? false } : { fromEnv: true };
      authenticate = credentialAuthenticator(admin.token, keys, config.oidc && new OidcVerifier(config.oidc), (identity) =>
        userRegistry.refuseDisabled(identity),
      );
      logger.info({ from: admin.source, oidc: config.oidc?.issuer ?? 'off' }, 'admin token loaded');
    } else {
      authenticate = anonymousAccess;
      logger.warn('authentication is disabled (--auth=none): anyone who can reach this server can read and write logs');
    }
    const usageTimer = setInterval(() => {
      keys.flushUsage().catch((error: unknown) => logger.error({ reason: (error as Error).message }, 'could not record key use'));
    }, 30_000);
    usageTimer.unref();
    this.subsystems.push({
      stop: async () => {
        clearInterval(usageTimer);
        await keys.flushUsage().catch(() => undefined);
      },
    });
    const integrityPart = await integritySubsystem(config, this.storage, id, logger);
    this.subsystems.push(integrityPart);
    const { sealing, signer } = integrityPart;
    const patternStore = new PatternStore(this.storage);
    const patternRecorder = config.patterns.enabled ? await PatternRecorder.open(config.patterns, patternStore, logger) : undefined;
    this.patterns = patternRecorder;
    if (patternRecorder) this.subsystems.push({ stop: () => patternRecorder.stop() });
    this.writer = await LogWriter.open(
      this.storage,
      {
        writerId: id,
        maxQueuedRecords: config.ingest.max_queued_records,
        maxQueuedBytes: config.ingest.max_queued_bytes,
        batchMaxRecords: config.ingest.batch_max_records,
        batchLingerMs: config.ingest.batch_linger_ms,
      },
      this.metrics,
      logger,
      sealing,
    );
    const writerOpened = this.writer;
    this.subsystems.push({ stop: () => writerOpened.close() });
    const recordIds = new RecordIdStore(this.storage);
    const rateLimits = new RateLimits(config.limits);
    const redeliveries = new RedeliveryFilter(
      {
        maxRememberedIds: config.ingest.dedup_remembered_ids,
        clockSkewMs: config.ingest.dedup_clock_skew_ms,
        maxForgottenIds: config.ingest.dedup_forgotten_ids,
        storageEmptyAtStart: !(await recordIds.anyStored()),
      },
      {
        write: (records, receiver) => this.writer!.write(records, receiver),
        storedIds: (query) => recordIds.storedIds(query),
        countDropped: (receiver, count) => this.metrics.recordsDeduplicated.inc({ receiver }, count),
      },
    );
    let stream: RecordPublisher | undefined;
    if (this.nats) {
      // Receivers publish to the replicated stream; this node's writer, like every node's, commits the whole stream.
      await ensureRecordStream(this.nats, config.cluster, logger);
      stream = recordPublisher(this.nats, config.cluster);
      this.clusterHealth = new ClusterHealth(this.nats, config.cluster);
      const streamMetrics = new StreamMetrics(this.metrics.registry, this.nats, config.cluster);
      // A gateway only publishes: it holds no consumer, and its /ready does not wait for one.
      if (consumesStream(config.cluster)) {
        this.streamConsumer = await StreamConsumer.start(
          this.nats,
          config.cluster,
          nodeId,
          (records, receiver) => redeliveries.write(records, receiver),
          logger,
          await CommittedRecords.open(new StreamPositionStore(this.storage)),
          (count) => streamMetrics.recordsSkipped.inc(count),
        );
        this.clusterHealth.watch(this.streamConsumer);
      }
      // Messages being committed finish (and are acknowledged) before the writer closes; leases go back before NATS does.
      this.subsystems.push({
        stop: async () => {
          await this.streamConsumer?.stop();
          await this.leases?.releaseAll();
          await this.nats?.drain().catch(() => undefined);
        },
      });
    }
    const ingest = ingestContext({
      writer: this.writer,
      storage: this.storage,
      // Patterns are mined last, from the redacted bodies that are stored.
      pipeline: composeStages([
        ...pipelineStages(
          config.pipeline,
          (rule, count) => this.metrics.redactions.inc({ rule }, count),
          (receiver, reason, count) => this.metrics.recordsUnparsed.inc({ receiver, reason }, count),
        ),
        ...(this.patterns ? [this.patterns.stage] : []),
      ]),
      redeliveries,
      stream,
      metrics: this.metrics,
      logger,
      maxDecompressedBytes: config.ingest.max_decompressed_bytes,
      rateLimits,
      tenants: tenantRegistry,
      timeWindow: timeWindowFromConfig(config.ingest),
      connectionLimits: {
        maxConnections: config.limits.max_connections_per_listener,
        maxConnectionsPerAddress: config.limits.max_connections_per_address,
        idleTimeoutMs: config.limits.tcp_idle_timeout_ms,
        handshakeTimeoutMs: config.limits.tls_handshake_timeout_ms,
      },
    });
    // Every query runs under query.timeout and is cancelled when its client leaves or the server stops.
    const budgets = new QueryBudgets(config.query.timeout, (reason) => {
      this.metrics.queriesCancelled.inc({ reason });
      logger.info({ reason }, 'query cancelled');
    });
    this.queryBudgets = budgets;
    const queries = {
      runner: logQueryRunner(this.storage, { maxExecutionSeconds: Math.max(1, Math.ceil(config.query.timeout / 1000)) }),
      budgets,
      database: config.database,
      limits: { ...defaultQueryLimits, pushdown: config.query.pushdown },
      maxEntriesLimit: config.query.max_lines,
      lokiApiVersion: '3.0.0',
      meshlogVersion: '0.1.0',
      drilldown: {
        maxEntriesLimitPerQuery: config.query.max_lines,
        maxQuerySeries: defaultQueryLimits.maxSeries,
        queryTimeoutMs: config.query.timeout,
        retentionPeriod: config.retention.default_max_age,
        patternsEnabled: config.patterns.enabled,
        version: '3.0.0',
      },
    };
    const audit = new AuditTrail(this.writer, logger);
    this.audit = audit;
    // One throttle of failed authentications per source address, for every listener and the UI.
    const authFailures = new AuthFailures(new LoginThrottle(config.limits), audit, logger, config.limits);
    ingest.authFailures = authFailures;
    integrityPart.recordQuarantinesIn(audit);
    // Parts the engine left unreadable (a full disk mid-merge) are set aside and what they covered restored: each an audit event.
    this.storage.watchParts((parts, reinserted) => {
      for (const part of parts) {
        const lost = part.rows - part.restoredRows - part.reinsertedRows;
        if (lost > 0)
          logger.error(
            { table: part.table, part: part.name, rows: part.rows, restored: part.restoredRows, reinserted: part.reinsertedRows },
            'storage part broken and not fully restored: rows lost (meshlog verify reports the batches)',
          );
        void audit.record({
          action: 'storage.part_repaired',
          outcome: lost > 0 ? 'failure' : 'success',
          target: `${part.table}/${part.name}`,
          detail: { rows: part.rows, restored_rows: part.restoredRows, reinserted_rows: part.reinsertedRows, check: part.check },
        });
      }
      // Acknowledged rows a broken part took, inserted again from memory: each batch an audit event with its rows.
      for (const batch of reinserted) {
        void audit.record({
          action: 'storage.batch_reinserted',
          outcome: 'success',
          target: batch.table,
          detail: { rows: batch.rows, batch_rows: batch.batchRows, batches: batch.batches.slice(0, 20) },
        });
      }
    });
    const sessions = config.ui.enabled
      ? new SessionStore(
          { idleTimeoutMs: config.ui.session_idle_timeout_ms, maxAgeMs: config.ui.session_max_age_ms },
          new SessionEventStore(this.storage),
        )
      : undefined;
    const admin = { keys, audit, auditStore: new AuditStore(this.storage), sessions };
    const policyStore = new PolicyStore(this.storage);
    const incidentStore = new IncidentStore(this.storage);
    const incidents = new Incidents(incidentStore, audit, maxAgeSeconds(config.incidents.hold_after_resolve) * 1000, logger);
    // Retention, erasure and monthly reports: under a lease with a shared ClickHouse, on every node's own copy when embedded.
    const runStoreJob = storeJobs(this.leases, Boolean(config.clickhouse_url));
    const governance = governanceSubsystem(config, {
      storage: this.storage,
      runJob: runStoreJob,
      seals: sealing?.store,
      audit,
      signer,
      // What incidents pinned is held like a legal hold, until resolved plus incidents.hold_after_resolve.
      holdAlso: () => incidents.recordHolds(),
      forgetPatterns: (tenant, patterns) => this.patterns?.forget(tenant, patterns),
      logger,
    });
    this.subsystems.push(governance);
    const { disposer, erasures, retentionStore, deletionLock } = governance;
    const archive = archiveSubsystem(config, {
      sealing,
      audit,
      longestRetentionSeconds: (tenant) => disposer.longestRetentionSeconds(tenant),
    });
    this.subsystems.push(archive);
    this.subsystems.push(
      backupSubsystem(config, { storage: this.storage, writer: this.writer, lock: deletionLock, masterKey: archive.masterKey, audit }),
    );
    const reports = reportsSubsystem(config.reports, {
      storage: this.storage,
      runJob: runStoreJob,
      audit,
      logger,
      sources: {
        queries: new ComplianceQueries(this.storage),
        auditStore: admin.auditStore,
        integrity: sealing && { store: sealing.store, verifierKey: signer.verifierKey },
        keys: () => keys.list(),
        config,
        serverStartedAt: new Date().toISOString(),
        ingestRefusals: async () => ({
          records: Object.fromEntries(
            (await this.metrics.recordsRejected.get()).values.map((value) => [
              `${value.labels.receiver}/${value.labels.reason}`,
              value.value,
            ]),
          ),
          requests: Object.fromEntries(
            (await this.metrics.requestsRejected.get()).values.map((value) => [String(value.labels.code), value.value]),
          ),
        }),
        signer,
        retention: retentionStore,
        policy: policyStore,
        incidents: incidentStore,
        recordHolds: () => incidents.recordHolds(),
      },
    });
    this.subsystems.push(reports);
    const writer = this.writer;
    const hub = new TailHub((listener) => writer.onCommitted(listener), {
      bufferLines: config.tail.buffer_lines,
      maxSubscribers: config.tail.max_subscribers,
    });
    const redaction = config.pipeline.redaction;
    const masker = new ReadMasker({
      fields: config.masking.fields,
      observe: redaction.enabled && redaction.mode === 'observe' ? { rules: redaction.rules, custom: redaction.custom } : undefined,
    });
    const masking = { masker, audit };
    const tail = {
      hub,
      runner: queries.runner,
      budgets,
      database: config.database,
      limits: queries.limits,
      maxLines: queries.maxEntriesLimit,
    };
    const storage = this.storage;
    const alertingPart = await alertingSubsystem(config.alerting, {
      storage,
      runner: queries.runner,
      budgets,
      database: config.database,
      limits: queries.limits,
      audit,
      committed: (listener) => writer.onCommitted(listener),
      templateOf: (tenant, service, id) => this.patterns?.templateOf(tenant, service, id),
      incidentAlert: incidents.alertListener(),
      leases: this.leases,
      logger,
    });
    this.subsystems.push(alertingPart);
    const alerting = alertingPart.alerting;
    const savedQueryStore = new SavedQueryStore(storage);
    if (this.nats) {
      const replicas = {
        keys: keys.replica,
        users: userRegistry.replica,
        tenants: tenantRegistry.replica,
        savedQueries: savedQueryStore.replica,
        sessions,
        loginThrottle: authFailures.throttle,
        legalHolds: retentionStore.holdReplica,
        signingKeys: integrityPart.keySet,
      };
      await replicateState(
        this.nats,
        config.cluster,
        { ...replicas, ruleGroups: alerting?.ruleGroupReplica, silences: alerting?.silenceReplica },
        logger,
      );
    }
    this.subsystems.push(
      await policySubsystem(config, {
        storage,
        store: policyStore,
        audit,
        signer,
        alerting,
        keys: () => keys.list(),
        users: () => userRegistry.list(),
        erasures: () => erasures.list(),
        logger,
      }),
    );
    const patterns = this.patterns && { runner: queries.runner, database: config.database, store: patternStore };
    const accessReviews = accessReviewSubsystem(config.access_review, {
      auditStore: admin.auditStore,
      audit,
      keys,
      users: userRegistry,
      endSessionsOf: sessions && ((ids, reason) => sessions.endSessionsOf(ids, reason)),
      sign: (bytes) => ({ algorithm: 'Ed25519', key: signer.verifierKey, value: sign(null, bytes, signer.privateKey).toString('base64') }),
      registeredTenants: () =>
        tenantRegistry
          .list()
          .filter((tenant) => tenant.state === 'active')
          .map((tenant) => tenant.name),
      logger,
    });
    this.subsystems.push(accessReviews);
    const oidcClientId = config.oidc?.client_id;
    const oidcLogin =
      sessions && config.auth === 'token' && config.oidc && oidcClientId
        ? new OidcLogin({ ...config.oidc, client_id: oidcClientId }, (identity) => userRegistry.refuseDisabled(identity))
        : undefined;
    this.http = buildHttpApp({
      config,
      logger,
      metrics: this.metrics,
      authenticate,
      audit,
      authFailures,
      admin,
      isReady: () => this.ready,
      dependencyProblem: async () => this.clusterHealth?.problem(),
      ingest,
      ingestPaused: () => diskGuard?.refusal('ingest'),
      queries,
      masking,
      rateLimits,
      tenants: { tenants: tenantRegistry, audit },
      users: { users: userRegistry, audit, sessions },
      patterns,
      tail,
      sessions,
      oidcLogin,
      traces: new TraceQueries(this.storage),
      savedQueries: { store: savedQueryStore, audit },
      incidents: {
        incidents,
        signer,
        bundle: {
          store: incidentStore,
          seals: sealing?.store,
          verifierKey: sealing?.signer.verifierKey,
          checkpointNow: sealing && (() => sealing.sealer.checkpoint()),
        },
      },
      storageKeys: this.storage.encryptionAtRest?.enabled
        ? { rotate: (actor, remoteAddress) => this.rotateStorageKey(actor, remoteAddress) }
        : undefined,
    });
    for (const subsystem of this.subsystems) if (subsystem.routes) await this.http.register(subsystem.routes);
    const httpUrl = await this.http.listen({ host: config.host, port: config.http_port });
    const addresses: Record<string, string> = {};
    for (const listener of buildListeners(config, ingest, authenticate)) {
      addresses[listener.name] = await listener.start();
      this.listeners.push(listener);
    }
    this.ready = true;
    for (const subsystem of this.subsystems) await subsystem.start?.();
    const configSha256 = await recordConfigChange(config, admin.auditStore, audit, 'start');
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
    const encrypted = pendingEncryption(config.data_dir);
    if (encrypted) {
      await audit.record({
        action: 'storage.encrypt',
        outcome: 'success',
        target: String(encrypted.detail.keyId),
        detail: { ...encrypted.detail },
      });
      encrypted.recordedNow();
    }
    const encryption = this.storage.encryptionAtRest;
    // A storage key first used by this start (the first key, or one `meshlog keys rotate-storage` added).
    if (encryption?.enabled && encryption.newKeyIds.length > 0) {
      await audit.record({
        action: 'storage.key_added',
        outcome: 'success',
        target: String(encryption.currentKeyId),
        detail: { key_ids: encryption.newKeyIds, current_key_id: encryption.currentKeyId },
      });
    }
    logger.info(
      {
        http: httpUrl,
        listeners: addresses,
        storage: this.storage.embedded ? `embedded chDB in ${config.data_dir}` : 'ClickHouse server',
      },
      'meshlog is ready',
    );
    return { httpUrl, listeners: addresses, adminToken: this.adminToken, embedded: this.storage.embedded };
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
    for (const listener of this.listeners)
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

  /** `meshlog keys rotate-storage` against the running server: a new key in the key file, current at once. */
  private async rotateStorageKey(actor: Identity, remoteAddress: string): Promise<{ key_id: number; key_ids: number[] }> {
    const audit = this.audit!;
    try {
      if (process.env[storageKeysEnvironmentVariable]) {
        throw new MeshlogError(
          'ML_CONFLICT',
          `the storage keys come from ${storageKeysEnvironmentVariable}: append a new <id>:<64 hex> entry there and send SIGHUP`,
        );
      }
      const { id } = rotateStorageKeyFile(this.config.encryption.key_file ?? defaultStorageKeyFile(this.config.data_dir));
      const applied = await this.storage!.reloadStorageKeys();
      const keyIds = applied?.newKeyIds ?? [id];
      await audit.record({
        action: 'storage.key_added',
        outcome: 'success',
        actor,
        remoteAddress,
        target: String(id),
        detail: { key_ids: keyIds, current_key_id: id, live: true },
      });
      return { key_id: id, key_ids: keyIds };
    } catch (error) {
      await audit.record({
        action: 'storage.key_added',
        outcome: 'failure',
        actor,
        remoteAddress,
        detail: { reason: (error as Error).message, live: true },
      });
      throw error;
    }
  }

  /** SIGHUP: a key file changed by hand or by the offline `meshlog keys rotate-storage` is taken up without a restart. */
  async reloadStorageKeys(): Promise<void> {
    if (!this.storage?.encryptionAtRest?.enabled || !this.audit) return;
    try {
      const applied = await this.storage.reloadStorageKeys();
      if (!applied) return;
      await this.audit.record({
        action: 'storage.key_added',
        outcome: 'success',
        target: String(applied.currentKeyId),
        detail: { key_ids: applied.newKeyIds, current_key_id: applied.currentKeyId, live: true },
      });
    } catch (error) {
      this.logger.error({ reason: (error as Error).message }, 'storage keys not reloaded; the engine keeps the keys it has');
      await this.audit
        .record({ action: 'storage.key_added', outcome: 'failure', detail: { reason: (error as Error).message, live: true } })
        .catch(() => undefined);
    }
  }

  /** Graceful stop: refuse new requests, let in-flight ones finish, commit what was accepted, close storage. */
  async stop(): Promise<void> {
    this.ready = false;
    // Queries still running stop now (answered 503, retry later) rather than holding up the stop.
    this.queryBudgets?.shutdown();
    await Promise.all([this.http?.close(), ...this.listeners.map((listener) => listener.stop())]);
    await this.audit?.record({ action: 'server.stop', outcome: 'success' }).catch(() => undefined);
    // Each subsystem in the reverse of its start: the writer commits what was accepted, the last checkpoint covers it, storage closes.
    for (const subsystem of [...this.subsystems].reverse()) await subsystem.stop?.();
    this.logger.info('meshlog stopped');
  }
}
