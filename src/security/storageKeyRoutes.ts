import type { FastifyInstance } from 'fastify';
import type { Identity } from './identity.js';

export interface StorageKeyRouteDeps {
  /** Adds a storage key, makes it current and reopens the engine with it; audited by the caller. */
  rotate: (actor: Identity, remoteAddress: string) => Promise<{ key_id: number; key_ids: number[] }>;
}

/** Encryption at rest (admin): rotate the storage key of the running server. */
export function storageKeyRoutes(app: FastifyInstance, deps: StorageKeyRouteDeps): void {
  app.post('/api/v1/admin/storage/rotate-key', { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } }, async (request) =>
    deps.rotate(request.identity!, request.ip),
  );
}
