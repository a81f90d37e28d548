import { MeshlogError } from '../errors.js';
import { tenantFor, type Identity } from './identity.js';
import { isTenantName, tenantNameRule } from '../model/tenantName.js';

/** The tenant an X-Scope-OrgID header (Loki's) asks for; undefined when absent. */
export function requestedTenant(header: string | string[] | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (Array.isArray(header)) throw new MeshlogError('ML_TENANT_INVALID', 'send a single X-Scope-OrgID header');
  if (!isTenantName(header)) {
    throw new MeshlogError('ML_TENANT_INVALID', `"${header.slice(0, 64)}" must be ${tenantNameRule}`);
  }
  return header;
}

/** The tenant a request acts on: what the header asks for, if the credential holds it. */
export function tenantOfRequest(identity: Identity, header: string | string[] | undefined): string {
  return tenantsOfRequest(identity, header, false)[0]!;
}

/**
 * The tenants a request acts on. Loki's multi-tenant form `a|b` (dskit's
 * TenantIDs: each id valid, sorted, duplicates dropped) only where `several`
 * (the read routes routeAccess.ts lists); the one check for one tenant or
 * many: the credential must hold every tenant named, else the request is
 * refused as a whole, before anything is read.
 */
export function tenantsOfRequest(identity: Identity, header: string | string[] | undefined, several: boolean): string[] {
  if (typeof header !== 'string' || !header.includes('|')) return [tenantFor(identity, requestedTenant(header))];
  if (!several) throw new MeshlogError('ML_TENANT_INVALID', 'this endpoint acts on one tenant: X-Scope-OrgID names several (a|b)');
  const ids = [...new Set(header.split('|').map((id) => requestedTenant(id) ?? invalidEmptyTenant()))].sort();
  return ids.map((id) => tenantFor(identity, id));
}

function invalidEmptyTenant(): never {
  throw new MeshlogError('ML_TENANT_INVALID', 'X-Scope-OrgID names an empty tenant between "|"');
}

/**
 * Where a request names its tenant: the X-Scope-OrgID header, or, for reads
 * a browser makes without script-set headers (a WebSocket upgrade, a
 * download link), an `X-Scope-OrgID` query parameter saying the same. Only
 * GET: a state change always names its tenant in the header.
 */
export function tenantHeaderOf(
  method: string,
  headers: Record<string, string | string[] | undefined>,
  query: unknown,
): string | string[] | undefined {
  const header = headers['x-scope-orgid'];
  if (header !== undefined || method !== 'GET') return header;
  const fromQuery = (query as Record<string, unknown> | undefined)?.['X-Scope-OrgID'];
  return typeof fromQuery === 'string' || Array.isArray(fromQuery) ? (fromQuery as string | string[]) : undefined;
}
