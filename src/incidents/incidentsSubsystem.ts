import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { openSealing } from '../integrity/openSealing.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import { maxAgeSeconds } from '../retention/disposer.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Storage } from '../storage/engine/storage.js';
import { IncidentStore } from '../storage/stores/incidentStore.js';
import { incidentRoutes } from './incidentRoutes.js';
import { Incidents } from './incidents.js';

/**
 * The incident workspace (the `incidents` section): incidents, which alert
 * transitions open and resolve and whose pinned records are held, with their
 * routes and signed export.
 */
export function incidentsSubsystem(
  config: MeshlogConfig['incidents'],
  deps: {
    storage: Storage;
    audit: AuditTrail;
    signer: NoteSigner;
    /** Absent when sealing is off: exports then carry no seals or proofs. */
    sealing: Awaited<ReturnType<typeof openSealing>> | undefined;
    logger: Logger;
  },
) {
  const { sealing, signer } = deps;
  const store = new IncidentStore(deps.storage);
  const incidents = new Incidents(store, deps.audit, maxAgeSeconds(config.hold_after_resolve) * 1000, deps.logger);
  const routes: FastifyPluginAsync = async (app) =>
    incidentRoutes(app, {
      incidents,
      signer,
      bundle: {
        store,
        seals: sealing?.store,
        verifierKey: sealing?.signer.verifierKey,
        checkpointNow: sealing && (() => sealing.sealer.checkpoint()),
      },
    });
  return { incidents, store, routes };
}
