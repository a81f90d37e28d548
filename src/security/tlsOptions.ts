import { readFileSync } from 'node:fs';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Identity, Role } from './identity.js';

export interface TlsFiles {
  cert_file: string;
  key_file: string;
  client_ca_file?: string;
  client_identities: { common_name: string; roles: Role[]; tenants: string[] }[];
}

/** Server TLS settings shared by every listener: TLS 1.2+, and mTLS when a client CA is configured. Files are read on each call, so SIGHUP can reload them. */
export function serverTlsOptions(files: TlsFiles) {
  const mutual = files.client_ca_file !== undefined;
  return {
    cert: readFileSync(files.cert_file),
    key: readFileSync(files.key_file),
    ca: mutual ? readFileSync(files.client_ca_file!) : undefined,
    requestCert: mutual,
    rejectUnauthorized: mutual,
    minVersion: 'TLSv1.2' as const,
  };
}

/** The identity of a verified client certificate, when its common name is mapped in `client_identities`. */
export function clientCertificateIdentity(socket: TLSSocket | undefined, files: TlsFiles | undefined): Identity | undefined {
  if (!files || !socket?.authorized) return undefined;
  return verifiedCertificateIdentity(socket.getPeerCertificate(), files);
}

/** The same, for a peer certificate the TLS layer already verified against `client_ca_file` (gRPC hands over only the certificate). */
export function verifiedCertificateIdentity(certificate: PeerCertificate | undefined, files: TlsFiles | undefined): Identity | undefined {
  if (!files?.client_ca_file) return undefined;
  const commonName = certificate?.subject?.CN;
  if (!commonName) return undefined;
  const mapped = files.client_identities.find((entry) => entry.common_name === commonName);
  return (
    mapped && {
      id: `cert:${commonName}`,
      name: `client certificate ${commonName}`,
      kind: 'client_certificate',
      roles: mapped.roles,
      tenants: mapped.tenants,
    }
  );
}
