import { createHash, timingSafeEqual } from 'node:crypto';
import { MeshlogError } from '../errors.js';
import { ApiKeys } from './apiKeys.js';
import { anyTenant, type Identity } from './identity.js';
import type { OidcVerifier } from './oidcVerifier.js';

/** Resolves a presented credential to an identity, or throws 401. */
export type Authenticate = (token: string | undefined) => Promise<Identity>;

const digest = (value: string) => createHash('sha256').update(value).digest();

const bootstrapAdmin: Identity = {
  id: 'admin-token',
  name: 'bootstrap admin',
  kind: 'admin_token',
  roles: ['admin'],
  tenants: [anyTenant],
};
const anonymous: Identity = { id: 'anonymous', name: 'anonymous', kind: 'anonymous', roles: ['admin'], tenants: [anyTenant] };

/** --auth=none: everyone is an anonymous admin, explicitly. */
export const anonymousAccess: Authenticate = async () => anonymous;

/**
 * The bootstrap admin token, API keys, then OIDC bearer tokens (JWTs), in
 * that order. `refuseDisabled` throws for an SSO identity whose meshlog user
 * is disabled (the identity provider does not know).
 */
export function credentialAuthenticator(
  adminToken: string,
  keys: ApiKeys,
  oidc: OidcVerifier | undefined,
  refuseDisabled: (identity: Identity) => Identity = (identity) => identity,
): Authenticate {
  const admin = digest(adminToken);
  return async (token) => {
    if (token === undefined || token === '') throw new MeshlogError('ML_AUTH_MISSING');
    if (timingSafeEqual(admin, digest(token))) return bootstrapAdmin;
    if (ApiKeys.looksLikeKey(token)) return keys.identify(token);
    if (oidc && token.split('.').length === 3) return refuseDisabled(await oidc.identify(token));
    throw new MeshlogError('ML_AUTH_INVALID');
  };
}
