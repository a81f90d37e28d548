import { MeshlogError } from '../../../errors.js';
import { anyTenant, requirePermission, tenantFor, type Identity } from '../../../security/identity.js';
import type { TlsFiles } from '../../../security/tlsOptions.js';

/**
 * The tenant of a forward or syslog TLS connection. With `client_identities`
 * configured, the verified client certificate is the credential: it must be
 * mapped, hold `ingest`, and its tenant is used (the listener's own tenant
 * only for a certificate allowed every tenant). Without them, the listener's
 * tenant, as for plaintext connections.
 */
export function connectionTenant(identity: Identity | undefined, files: TlsFiles | undefined, listenerTenant: string): string {
  if (!files || files.client_identities.length === 0) return listenerTenant;
  if (!identity) throw new MeshlogError('ML_AUTH_INVALID', 'the client certificate is not one of tls.client_identities');
  requirePermission(identity, 'ingest');
  return tenantFor(identity, identity.tenants.includes(anyTenant) ? listenerTenant : undefined);
}
