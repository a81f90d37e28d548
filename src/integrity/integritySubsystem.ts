import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { Storage } from '../storage/engine/storage.js';
import { integrityRoutes } from './integrityRoutes.js';
import { openSealing, openSigner } from './openSealing.js';
import { SigningKeySet } from './signingKeySet.js';
import type { ReplicatedOwners } from '../cluster/replicatedKinds.js';

/**
 * Tamper evidence (the `integrity` section): the chain sealer and its seal
 * store, the checkpoint timer, and the signing key (reports and the deletion
 * ledger are signed with it even when sealing is off).
 */
export async function integritySubsystem(config: MeshlogConfig, storage: Storage, writerId: string, logger: Logger) {
  // In a cluster the key is published under the node's cluster id, which its deletion ledger lines go by too (meshlog ledger fetch).
  const published = (verifierKey: string) => new SigningKeySet({ node: config.cluster.node_id ?? writerId, verifierKey });
  if (!config.integrity.seal) {
    logger.warn('integrity sealing is off (integrity.seal: false): tampering with stored logs cannot be detected');
    const signer = openSigner(config, writerId, logger);
    return {
      sealing: undefined,
      signer,
      /** In a cluster: every node's checkpoint verifier key, and this node's own to publish. */
      replicated: {
        signingKeys: published(signer.verifierKey),
      } satisfies Partial<ReplicatedOwners>,
    };
  }
  const sealing = await openSealing(config, storage, writerId, logger);
  const { sealer, store, signer } = sealing;
  const checkpointTimer = setInterval(() => {
    sealer.checkpoint().catch((error: unknown) => logger.error({ reason: (error as Error).message }, 'checkpoint failed'));
  }, config.integrity.checkpoint_interval_ms);
  checkpointTimer.unref();
  const keySet = published(signer.verifierKey);
  const routes: FastifyPluginAsync = async (app) => integrityRoutes(app, { store, keys: keySet });
  return {
    sealing,
    signer,
    replicated: { signingKeys: keySet } satisfies Partial<ReplicatedOwners>,
    routes,
    /** The last checkpoint covers everything committed before the stop. */
    async stop(): Promise<void> {
      clearInterval(checkpointTimer);
      await sealer.checkpoint();
    },
  };
}
