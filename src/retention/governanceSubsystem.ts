import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Storage } from '../storage/engine/storage.js';
import type { RunJob } from '../cluster/sharedJobs.js';
import type { ReplicatedLedgers } from '../model/ledgerReplica.js';
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
  /** Runs each scheduled disposal and erasure (on one node, in a cluster with a shared store). */
  runJob: RunJob;
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
export function governanceSubsystem(config: Pick<MeshlogConfig, 'data_dir' | 'database' | 'retention' | 'erasure'>, deps: GovernanceDeps) {
  const { audit, logger } = deps;
  const ledger = new DeletionLedger(defaultDeletionLedgerFile(config.data_dir), deps.signer);
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
    /** The signed deletion ledger (in a cluster, replicated by the server before anything is appended). */
    ledger,
    disposer,
    erasures,
    retentionStore,
    deletionLock,
    routes,
    start(): void {
      timers = [
        setInterval(() => {
          deps
            .runJob('retention', () => disposer.run('schedule'))
            .catch((error: unknown) => logger.error({ reason: (error as Error).message }, 'disposal run failed'));
        }, config.retention.check_interval_ms),
        setInterval(() => {
          deps
            .runJob('erasure', () => erasures.runDue())
            .catch((error: unknown) => logger.error({ reason: (error as Error).message }, 'erasure run failed'));
        }, config.erasure.check_interval_ms),
      ];
      for (const timer of timers) timer.unref();
    },
    async stop(): Promise<void> {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
