import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { MeshlogError } from '../errors.js';
import { anyTenant, roles, type Identity, type Role } from './identity.js';

/** A tenant an identity provider may grant by name: never meshlog's own `_…` tenants. */
const grantableTenant = /^[A-Za-z0-9.-][A-Za-z0-9_.-]{0,127}$/;

export interface OidcConfig {
  jwks_url: string;
  issuer: string;
  audience: string;
  /** Claim holding role or group names (array or space-separated string). */
  roles_claim: string;
  /** Group/claim value → meshlog role; names that already are roles map to themselves. */
  role_map: Record<string, Role>;
  /** Claim holding the tenants the user may act on. */
  tenants_claim: string;
  /** Whether a tenants claim of `*` grants every tenant. */
  all_tenants: boolean;
  /** Claim naming the user in the audit trail. */
  name_claim: string;
}

function claimList(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/**
 * SSO users: JWT bearer tokens checked against the identity provider's JWKS
 * (signature, issuer, audience, expiry) and mapped from claims to roles and
 * tenants. A valid token without a mapped role gets no permission at all.
 */
export class OidcVerifier {
  private readonly jwks;

  constructor(private readonly config: OidcConfig) {
    this.jwks = createRemoteJWKSet(new URL(config.jwks_url), { cooldownDuration: 30_000 });
  }

  async identify(token: string): Promise<Identity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: this.config.issuer, audience: this.config.audience }));
    } catch (error) {
      throw new MeshlogError('ML_AUTH_INVALID', `OIDC token rejected: ${(error as Error).message}`);
    }
    const granted = new Set<Role>();
    for (const value of claimList(payload, this.config.roles_claim)) {
      const role = this.config.role_map[value] ?? (roles.includes(value as Role) ? (value as Role) : undefined);
      if (role) granted.add(role);
    }
    const subject = payload.sub ?? 'unknown';
    return {
      id: `oidc:${subject}`,
      name: String(payload[this.config.name_claim] ?? subject),
      kind: 'oidc',
      roles: [...granted],
      tenants: claimList(payload, this.config.tenants_claim).filter((tenant) =>
        tenant === anyTenant ? this.config.all_tenants : grantableTenant.test(tenant),
      ),
      ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
    };
  }
}
