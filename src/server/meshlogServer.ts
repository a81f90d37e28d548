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
import { clusterSubsystem } from '../cluster/clusterSubsystem.js';
import { reportsSubsystem } from '../compliance/reportsSubsystem.js';
import type { MeshlogConfig } from '../config/schema.js';
import { incidentsSubsystem } from '../incidents/incidentsSubsystem.js';
import { ingestSubsystem } from '../ingest/ingestSubsystem.js';
import { writerSubsystem } from '../ingest/writerSubsystem.js';
import { integritySubsystem } from '../integrity/integritySubsystem.js';
import type { LogRecord } from '../model/logRecord.js';
import { Metrics } from '../observability/metrics.js';
import { policySubsystem } from '../policy/policySubsystem.js';
import { querySubsystem } from '../query/querySubsystem.js';
import { governanceSubsystem } from '../retention/governanceSubsystem.js';
import { accessReviewSubsystem } from '../security/accessReviewSubsystem.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { storageSubsystem } from '../security/storageSubsystem.js';
import { serverTlsOptions } from '../security/tlsOptions.js';
import { openStorage } from '../storage/engine/openStorage.js';
import { buildHttpApp } from './httpApp.js';
import { auditServerStart } from './startAudit.js';
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
    // Each subsystem in the order of the list in docs/ARCHITECTURE.md, each built from what those before it returned.
    const add = <Part extends Subsystem>(subsystem: Part): Part => {
      this.subsystems.push(subsystem);
      return subsystem;
    };

    const id = writerId(config.data_dir);
    const cluster = await clusterSubsystem(config.cluster, config.cluster.node_id ?? id, logger);
    const leases = cluster?.leases;
    const storage = await openStorage(config, { logger, leases, metrics });
    add({ stop: () => storage.close() });
    const integrity = add(await integritySubsystem(config, storage, id, logger));
    const { sealing, signer } = integrity;
    const written = add(await writerSubsystem(config, { storage, writerId: id, metrics, sealing, logger }));
    const { writer, redeliveries, patterns, patternStore } = written;
    const committed = (listener: (records: LogRecord[]) => void) => writer.onCommitted(listener);
    const recordStream = await cluster?.openRecordStream({
      storage,
      commit: (records, receiver) => redeliveries.write(records, receiver),
      // Called only once consuming starts (last), when the erasure requests exist.
      withoutErased: (records, seq, streamTimeMs) => erasures.withoutErased(records, seq, streamTimeMs),
      withoutErasedSpans: (spans, seq, streamTimeMs) => erasures.withoutErasedSpans(spans, seq, streamTimeMs),
      registry: metrics.registry,
    });
    if (recordStream) add(recordStream);
    const access = add(await accessSubsystem(config, { storage, auditWriter: writer, logger }));
    const { keys, users, tenants, audit, auditStore, sessions } = access;
    this.audit = audit;
    this.adminToken = access.adminToken;
    const storageEvents = (this.storageEvents = add(
      storageSubsystem(storage, { dataDir: config.data_dir, keyFile: config.encryption.key_file, seals: sealing?.store, audit, logger }),
    ));
    const ingest = (this.ingest = add(
      ingestSubsystem(config, {
        written,
        access,
        storage,
        stream: recordStream?.stream,
        limitShare: config.limits.strategy === 'global' ? cluster?.nodes : undefined,
        metrics,
        logger,
      }),
    ));
    const query = (this.query = add(
      querySubsystem(config, { storage, metrics, audit, committed, patterns: patterns && patternStore, logger }),
    ));
    const incidentsPart = add(incidentsSubsystem(config.incidents, { storage, audit, signer, sealing, logger }));
    const { incidents } = incidentsPart;
    const governance = await governanceSubsystem(config, {
      storage,
      leases,
      seals: sealing?.store,
      audit,
      signer,
      logger,
      ledgerReplica: await cluster?.ledgerReplica(),
      // What incidents pinned is held like a legal hold, until resolved plus incidents.hold_after_resolve.
      holdAlso: () => incidents.recordHolds(),
      forgetPatterns: (tenant, forgotten) => patterns?.forget(tenant, forgotten),
      streamPosition: recordStream?.lastSequence,
      replicatedLedgers: await cluster?.ledgers(),
    });
    add(governance);
    const { disposer, erasures, retentionStore, deletionLock } = governance;
    const archive = add(
      await archiveSubsystem(config, {
        sealing,
        audit,
        longestRetentionSeconds: (tenant) => disposer.longestRetentionSeconds(tenant),
        keyBucket: await cluster?.archiveKeys(),
        node: config.cluster.node_id ?? id,
        logger,
      }),
    );
    add(backupSubsystem(config, { storage, writer, lock: deletionLock, masterKey: archive.masterKey, audit }));
    add(
      reportsSubsystem(config, {
        storage,
        leases,
        audit,
        logger,
        reported: {
          auditStore,
          seals: sealing?.store,
          signer,
          metrics,
          retention: retentionStore,
          incidents: incidentsPart.store,
          keys: () => keys.list(),
          recordHolds: () => incidents.recordHolds(),
        },
      }),
    );
    const alertingPart = add(
      await alertingSubsystem(config.alerting, {
        storage,
        queries: query.queries,
        audit,
        committed,
        leases,
        logger,
        templateOf: (tenant, service, patternId) => patterns?.templateOf(tenant, service, patternId),
        incidentAlert: incidents.alertListener(),
        masker: query.masking.masker,
        fingerprintKeyFile: defaultFingerprintKeyFile(config.data_dir),
        clusterSecrets: await cluster?.secrets(),
      }),
    );
    const { alerting } = alertingPart;
    await cluster?.replicate({
      ...access.replicated,
      ...query.replicated,
      ...integrity.replicated,
      ...governance.replicated,
      ...alertingPart.replicated,
    });
    add(
      await policySubsystem(config, {
        storage,
        audit,
        signer,
        alerting,
        logger,
        masker: query.masking.masker,
        keys: () => keys.list(),
        users: () => users.list(),
        erasures: () => erasures.list(),
      }),
    );
    add(accessReviewSubsystem(config.access_review, { access, signingKey: signer, logger }));

    this.http = buildHttpApp({
      config,
      logger,
      metrics,
      access,
      masking: query.masking,
      rateLimits: ingest.rateLimits,
      isReady: () => this.ready,
      dependencyProblem: async () => cluster?.problem(),
      ingestPaused: () => storage.diskGuard?.refusal('ingest'),
    });
    for (const subsystem of this.subsystems) if (subsystem.routes) await this.http.register(subsystem.routes);
    const httpUrl = await this.http.listen({ host: config.host, port: config.http_port });
    const listeners = await ingest.startListeners();
    this.ready = true;
    for (const subsystem of this.subsystems) await subsystem.start?.();
    await auditServerStart(config, { audit, auditStore }, { httpUrl, listeners });
    await storageEvents.recordStartEvents();
    await cluster?.startConsuming();
    const where = storage.embedded ? `embedded chDB in ${config.data_dir}` : 'ClickHouse server';
    logger.info({ http: httpUrl, listeners, storage: where }, 'meshlog is ready');
    return { httpUrl, listeners, adminToken: this.adminToken, embedded: storage.embedded };
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
