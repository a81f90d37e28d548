import { MeshlogError } from '../errors.js';
import { anyTenant, rolePermissions, type Identity, type Role } from './identity.js';

/** Whether the identity may act on every one of `tenants` (`*` only for a holder of `*`). */
export function holdsTenants(identity: Identity, tenants: readonly string[]): boolean {
  if (identity.tenants.includes(anyTenant)) return true;
  return tenants.every((tenant) => tenant !== anyTenant && identity.tenants.includes(tenant));
}

/** Whether the identity holds a role: the role itself, or one whose permissions include all of its permissions. */
export function holdsRole(identity: Identity, role: Role): boolean {
  return (
    identity.roles.includes(role) ||
    identity.roles.some((held) => rolePermissions[role].every((permission) => rolePermissions[held].includes(permission)))
  );
}

/**
 * Nobody grants more than they hold: every role and every tenant of a new or
 * changed grant (a key, a user) must be the granter's own. An admin
 * confined to tenant A can grant A, never `*` or B; `unmasker` only by a
 * holder of `unmasker`. The bootstrap token is the root every grant starts
 * from: it may grant every role, though it reads masked like any admin
 * (whoever assigns the right to read personal data need not hold it).
 */
export function requireWithinGrants(actor: Identity, grant: { roles?: readonly Role[]; tenants?: readonly string[] }): void {
  if (actor.kind === 'admin_token') return;
  const roles = (grant.roles ?? []).filter((role) => !holdsRole(actor, role));
  if (roles.length > 0)
    throw new MeshlogError(
      'ML_FORBIDDEN',
      `${actor.name} cannot grant the roles ${roles.join(', ')}: nobody grants a role they do not hold`,
    );
  const tenants = (grant.tenants ?? []).filter((tenant) => !holdsTenants(actor, [tenant]));
  if (tenants.length > 0)
    throw new MeshlogError(
      'ML_FORBIDDEN',
      `${actor.name} cannot grant the tenants ${tenants.join(', ')}: nobody grants a tenant they do not hold`,
    );
}

/** The one tenant a grant (or a credential) is confined to, if it names exactly one: the tenant its audit events belong to. */
export function singleTenant(tenants: readonly string[]): string | undefined {
  return tenants.length === 1 && tenants[0] !== anyTenant ? tenants[0] : undefined;
}

/** A credential or user of other tenants is not this identity's to see: it is shown only when all its tenants are the identity's. */
export function sees(identity: Identity, owner: { tenants: readonly string[] }): boolean {
  return holdsTenants(identity, owner.tenants);
}
