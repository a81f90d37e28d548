import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Storage } from '../storage/engine/storage.js';
import type { Leases } from '../cluster/leases.js';
import { storeJobs } from '../cluster/sharedJobs.js';
import type { LedgerReplica, ReplicatedLedgers } from '../model/ledgerReplica.js';
import type { ReplicatedOwners } from '../cluster/replicatedKinds.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import { ErasureStore, type PatternRef } from '../storage/stores/erasureStore.js';
import { RetentionStore, type LegalHold } from '../storage/stores/retentionStore.js';
import { DeletionLedger, defaultDeletionLedgerFile } from './deletionLedger.js';
import { deletionLedgerRoutes } from './deletionLedgerRoutes.js';
import { DeletionLock } from './deletionLock.js';
import { Disposer, maxAgeSeconds } from './disposer.js';
import { erasureRoutes } from './erasureRoutes.js';
import { ErasureRequests } from './erasureRequests.js';
import { retentionRoutes } from './retentionRoutes.js';

export interface GovernanceDeps {
  storage: Storage;
  /** A cluster's leases: with a shared ClickHouse, each scheduled disposal and erasure runs on one node. */
  leases: Leases | undefined;
  /** In a cluster: the deletion ledger's replica, so a ledger lost with the disk comes back from the cluster. */
  ledgerReplica: LedgerReplica | undefined;
  /** Absent when sealing is off. */
  seals: SealStore | undefined;
  audit: AuditTrail;
  /** Signs the deletion ledger (the key checkpoints use, even when sealing is off). */
  signer: NoteSigner;
  /** Records held besides legal holds (what incidents pinned). */
  holdAlso: () => Promise<LegalHold[]>;
  /** Drops erased templates from the live pattern miners. */
  forgetPatterns: (tenant: string, patterns: PatternRef[]) => void;
  /** In a cluster: the record stream's last sequence, which an erasure's first execution covers. */
  streamPosition?: () => Promise<number>;
  /** In a cluster: every node's deletion ledger as the cluster holds it. */
  replicatedLedgers?: ReplicatedLedgers;
  logger: Logger;
}

/**
 * What is kept and for how long (the `retention` and `erasure` sections):
 * disposal of expired records, legal holds, erasure requests, the signed
 * deletion ledger, and the two timers that run disposal and due erasures.
 */
export async function governanceSubsystem(
  config: Pick<MeshlogConfig, 'data_dir' | 'database' | 'retention' | 'erasure'>,
  deps: GovernanceDeps,
) {
  const { audit, logger } = deps;
  const ledger = new DeletionLedger(defaultDeletionLedgerFile(config.data_dir), deps.signer);
  // Before any disposal or erasure appends to it.
  if (deps.ledgerReplica) await ledger.replicateTo(deps.ledgerReplica, logger);
  // Under a lease with a shared ClickHouse, on every node's own copy when embedded.
  const runJob = storeJobs(deps.leases, !deps.storage.embedded);
  const retentionStore = new RetentionStore(deps.storage);
  // Disposal, erasure and backups take turns: none deletes what another is reading.
  const deletionLock = new DeletionLock();
  const disposer = new Disposer(retentionStore, deps.seals, audit, config.retention, ledger, deletionLock, logger);
  disposer.holdAlso(deps.holdAlso);
  const erasures = new ErasureRequests(
    new ErasureStore(deps.storage),
    retentionStore,
    deps.seals,
    audit,
    config.database,
    maxAgeSeconds(config.erasure.cancel_window) * 1000,
    ledger,
    deletionLock,
    deps.forgetPatterns,
    logger,
    deps.streamPosition,
  );
  const routes: FastifyPluginAsync = async (app) => {
    retentionRoutes(app, { disposer, store: retentionStore, audit });
    erasureRoutes(app, { erasures });
    deletionLedgerRoutes(app, { ledgers: deps.replicatedLedgers, audit });
  };
  let timers: NodeJS.Timeout[] = [];
  return {
    disposer,
    erasures,
    retentionStore,
    deletionLock,
    /** In a cluster: legal holds and erasure requests, the same on every node. */
    replicated: { legalHolds: retentionStore.holdReplica, erasures: erasures.replica } satisfies Partial<ReplicatedOwners>,
    routes,
    start(): void {
      timers = [
        setInterval(() => {
          runJob('retention', () => disposer.run('schedule')).catch((error: unknown) =>
            logger.error({ reason: (error as Error).message }, 'disposal run failed'),
          );
        }, config.retention.check_interval_ms),
        setInterval(() => {
          runJob('erasure', () => erasures.runDue()).catch((error: unknown) =>
            logger.error({ reason: (error as Error).message }, 'erasure run failed'),
          );
        }, config.erasure.check_interval_ms),
      ];
      for (const timer of timers) timer.unref();
    },
    async stop(): Promise<void> {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
