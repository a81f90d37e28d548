import type { Permission } from './identity.js';

/**
 * Which tenants a route acts on, checked before its handler runs:
 * - `none`: no tenant's data (handshakes, build info, the UI's files, public keys).
 * - `request`: the request's tenant only, from X-Scope-OrgID among the credential's
 *   (several, `a|b`, where the route declares `multiTenant`).
 * - `named`: tenants named in its parameters or body, or lists of every tenant's
 *   objects; the handler checks each named tenant (`tenantFor`) and filters lists
 *   to the credential's tenants (`sees`, `holdsTenants`).
 * - `all`: the whole installation (backups, storage keys, tenants, disposal runs):
 *   only a credential for every tenant (`*`).
 */
export type Tenancy = 'none' | 'request' | 'named' | 'all';

export interface RouteAccess {
  permission: Permission | 'public';
  tenancy: Tenancy;
  /**
   * The route takes Loki's multi-tenant X-Scope-OrgID `a|b` (every tenant
   * named must be the credential's; results carry `__tenant_id__`): Loki's
   * reads declare it beside `tenancy: 'request'`. Every other route refuses a
   * header naming several tenants.
   */
  multiTenant: boolean;
}

/**
 * A route's access, as its registration declares it beside its handler:
 * `app.get(url, { config: { permission: 'query', tenancy: 'request' } }, …)`
 * (a public route touches no tenant's data). Deny by default: a route that
 * declares no permission, or no tenancy beside a permission, or several
 * tenants beside a tenancy other than the request's, throws, and the server
 * does not start, so no route ships without a decision
 * (GET /api/v1/admin/routes lists every decision for an auditor).
 */
export function accessOfRoute(method: string, url: string, own: Partial<RouteAccess>): RouteAccess {
  const multiTenant = own.multiTenant === true;
  if (multiTenant && (own.permission === 'public' || own.tenancy !== 'request'))
    throw new Error(
      `route ${method} ${url} declares multiTenant beside tenancy ${own.tenancy}: only a route of tenancy 'request' reads several`,
    );
  if (own.permission === 'public') return { permission: 'public', tenancy: 'none', multiTenant };
  if (own.permission !== undefined && own.tenancy !== undefined) return { permission: own.permission, tenancy: own.tenancy, multiTenant };
  throw new Error(
    `route ${method} ${url} declares no ${own.permission === undefined ? 'permission' : 'tenancy'}: give its registration config: { permission, tenancy }`,
  );
}
