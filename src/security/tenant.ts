import { MeshlogError } from '../errors.js';
import { tenantFor, type Identity } from './identity.js';

const tenantPattern = /^[A-Za-z0-9_.-]{1,128}$/;

/** The tenant an X-Scope-OrgID header (Loki's) asks for; undefined when absent. */
export function requestedTenant(header: string | string[] | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (Array.isArray(header)) throw new MeshlogError('ML_TENANT_INVALID', 'send a single X-Scope-OrgID header');
  if (!tenantPattern.test(header)) {
    throw new MeshlogError('ML_TENANT_INVALID', `"${header.slice(0, 64)}" must be 1-128 of A-Z a-z 0-9 _ . -`);
  }
  return header;
}

/** The tenant a request acts on: what the header asks for, if the credential holds it. */
export function tenantOfRequest(identity: Identity, header: string | string[] | undefined): string {
  return tenantFor(identity, requestedTenant(header));
}
