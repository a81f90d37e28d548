import type { FastifyInstance } from 'fastify';
import type { TenantRegistry } from '../security/tenantRegistry.js';

/** Ingest and queries of a disabled tenant are refused (403) right after authentication, before any body is read. */
export function tenantStateHook(app: FastifyInstance, tenants: TenantRegistry): void {
  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config?.permission;
    if (request.identity && (permission === 'ingest' || permission === 'query'))
      for (const tenant of request.tenants) tenants.assertActive(tenant);
  });
}
