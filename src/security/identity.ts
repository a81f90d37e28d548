import { MeshlogError } from '../errors.js';

export const roles = ['admin', 'analyst', 'auditor', 'ingester', 'unmasker'] as const;
export type Role = (typeof roles)[number];

/** What a route needs; every route has exactly one (see routeAccess.ts). */
export type Permission = 'ingest' | 'query' | 'audit' | 'admin' | 'unmask';

/** Least privilege: each role grants only what it is for. */
export const rolePermissions: Record<Role, readonly Permission[]> = {
  admin: ['ingest', 'query', 'audit', 'admin'],
  analyst: ['query'],
  auditor: ['audit'],
  ingester: ['ingest'],
  // Sensitive fields unmasked in query results; granted on its own, never implied by admin, and every use is audited.
  unmasker: ['unmask'],
};

/** Who is acting: resolved from the credential, never from what the client claims. */
export interface Identity {
  /** Key id, `admin-token`, `oidc:<subject>` or `anonymous`. */
  id: string;
  name: string;
  kind: 'admin_token' | 'api_key' | 'oidc' | 'client_certificate' | 'shared_key' | 'forward_user' | 'anonymous';
  roles: Role[];
  /** Tenants this identity may act on; `*` means any (never the reserved `_…` tenants). */
  tenants: string[];
  /** OIDC: the token's `email` claim, which names the meshlog user a disabled account is matched by. */
  email?: string;
}

export const anyTenant = '*';

export function hasPermission(identity: Identity, permission: Permission): boolean {
  return identity.roles.some((role) => rolePermissions[role].includes(permission));
}

/**
 * The tenant a request acts on: X-Scope-OrgID selects among the tenants the
 * credential holds (combining roles never widens them); without the header,
 * the credential's first tenant (`default` for `*`).
 */
export function tenantFor(identity: Identity, requested: string | undefined): string {
  if (requested?.startsWith('_')) throw new MeshlogError('ML_FORBIDDEN', `tenant "${requested}" is reserved`);
  const all = identity.tenants.includes(anyTenant);
  if (requested === undefined) return all ? 'default' : (identity.tenants[0] ?? 'default');
  if (all || identity.tenants.includes(requested)) return requested;
  throw new MeshlogError('ML_FORBIDDEN', `this credential may not act on tenant "${requested}"`);
}

export function requirePermission(identity: Identity, permission: Permission): void {
  if (!hasPermission(identity, permission)) {
    throw new MeshlogError(
      'ML_FORBIDDEN',
      `${permission} needs one of the roles ${roles.filter((role) => rolePermissions[role].includes(permission)).join(', ')}; ${identity.name} has ${identity.roles.join(', ') || 'none'}`,
    );
  }
}

/** Actions on the whole installation (backups, storage keys, new tenants) need a credential for every tenant. */
export function requireAllTenants(identity: Identity): void {
  if (!identity.tenants.includes(anyTenant)) {
    throw new MeshlogError(
      'ML_FORBIDDEN',
      `this action concerns every tenant and needs a credential for tenant "${anyTenant}"; ${identity.name} holds ${identity.tenants.join(', ')}`,
    );
  }
}
