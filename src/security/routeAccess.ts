import type { Permission } from './identity.js';

/**
 * Which tenants a route acts on, checked before its handler runs:
 * - `none`: no tenant's data (handshakes, build info, the UI's files, public keys).
 * - `request`: the request's tenant only, from X-Scope-OrgID among the credential's.
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
}

/**
 * The reads that take Loki's multi-tenant X-Scope-OrgID `a|b` (every tenant
 * named must be the credential's; results carry `__tenant_id__`). Every
 * other route refuses a header naming several tenants.
 */
export const multiTenantRoutes: ReadonlySet<string> = new Set(
  ['/query_range', '/query', '/labels', '/label', '/label/:name/values', '/series', '/tail'].map((path) => `/loki/api/v1${path}`),
);

/**
 * A route's access, as its registration declares it beside its handler:
 * `app.get(url, { config: { permission: 'query', tenancy: 'request' } }, …)`
 * (a public route touches no tenant's data). Deny by default: a route that
 * declares no permission, or no tenancy beside a permission, throws, and the
 * server does not start, so no route ships without a decision
 * (GET /api/v1/admin/routes lists every decision for an auditor).
 */
export function accessOfRoute(method: string, url: string, own: Partial<RouteAccess>): RouteAccess {
  if (own.permission === 'public') return { permission: 'public', tenancy: 'none' };
  if (own.permission !== undefined && own.tenancy !== undefined) return { permission: own.permission, tenancy: own.tenancy };
  throw new Error(
    `route ${method} ${url} declares no ${own.permission === undefined ? 'permission' : 'tenancy'}: give its registration config: { permission, tenancy }`,
  );
}
