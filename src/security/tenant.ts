import { MeshlogError } from '../errors.js';

export const defaultTenant = 'default';
const tenantPattern = /^[A-Za-z0-9_.-]{1,128}$/;

/** The tenant a request acts on, from X-Scope-OrgID (Loki's header); `default` when absent. */
export function tenantFromHeader(header: string | string[] | undefined): string {
  if (header === undefined || header === '') return defaultTenant;
  if (Array.isArray(header)) throw new MeshlogError('ML_TENANT_INVALID', 'send a single X-Scope-OrgID header');
  if (!tenantPattern.test(header)) {
    throw new MeshlogError('ML_TENANT_INVALID', `"${header.slice(0, 64)}" must be 1-128 of A-Z a-z 0-9 _ . -`);
  }
  return header;
}
