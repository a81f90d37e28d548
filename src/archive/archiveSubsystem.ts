import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { ChainSealer } from '../integrity/chainSealer.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import type { ArchiveKeyBucket } from '../model/archiveKeyBucket.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import { archiveRoutes } from './archiveRoutes.js';
import { defaultKeyRingDir, KeyRing } from './keyRing.js';
import { defaultMasterKeyFile, MasterKey } from './masterKey.js';
import { SharedKeyRing } from './sharedKeyRing.js';

/**
 * Encrypted, signed archives (the `archive` section): the master key (backups
 * encrypt with it too), the per-tenant key ring, and the archive routes, which
 * exist only with sealing (an archive proves its records against the seals).
 * In a cluster (`keyBucket`) the key ring is the cluster's, copied into this
 * node's key ring directory before the node takes requests.
 */
export async function archiveSubsystem(
  config: Pick<MeshlogConfig, 'data_dir' | 'archive'>,
  deps: {
    sealing: { store: SealStore; signer: NoteSigner; sealer: ChainSealer } | undefined;
    audit: AuditTrail;
    longestRetentionSeconds: (tenant: string) => number;
    keyBucket: ArchiveKeyBucket | undefined;
    node: string;
    logger: Logger;
  },
) {
  const masterKey = () =>
    MasterKey.load({
      file: config.archive.master_key_file ?? defaultMasterKeyFile(config.data_dir),
      dataDir: config.data_dir,
      create: true,
    });
  const sealing = deps.sealing;
  if (!sealing) return { masterKey };
  const localRing = new KeyRing(config.archive.key_ring_dir ?? defaultKeyRingDir(config.data_dir), masterKey);
  const sharedRing = deps.keyBucket && new SharedKeyRing(localRing, deps.keyBucket, deps.node, deps.logger);
  await sharedRing?.start();
  const routeDeps = {
    audit: deps.audit,
    s3: config.archive.s3,
    longestRetentionSeconds: deps.longestRetentionSeconds,
    sources: {
      store: sealing.store,
      signer: sealing.signer,
      keyRing: sharedRing ?? localRing,
      checkpointNow: () => sealing.sealer.checkpoint(),
    },
  };
  const routes: FastifyPluginAsync = async (app) => archiveRoutes(app, routeDeps);
  return { masterKey, routes, stop: async () => sharedRing?.stop() };
}
