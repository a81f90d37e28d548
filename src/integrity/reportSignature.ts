import { createHash, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ReportSignature } from '../api/reports.js';
import { parseVerifierKey, type NoteSigner } from './signedNote.js';

/**
 * Ed25519 signatures on reports. A JSON report carries its signature in a
 * `signature` member over the RFC 8785 (JCS) canonical form of everything
 * else; an HTML or PDF rendering is signed as the exact bytes of the file
 * and the signature travels beside it (`<file>.sig`). Both name the signing
 * key as a C2SP verifier key string, the one published as
 * `<data_dir>-signing.key.pub`.
 */
export type { ReportSignature } from '../api/reports.js';

/** A detached signature of a rendered report (`<file>.sig`). */
export interface DetachedReportSignature extends ReportSignature {
  file_sha256: string;
}

export const jsonSignedPart = 'RFC 8785 (JCS) canonical JSON of the report without its signature member';
export const fileSignedPart = 'the bytes of the report file';

/** The exact bytes a JSON report's signature covers. */
export function canonicalReportBytes(report: object): Buffer {
  const { signature: _signature, ...unsigned } = report as { signature?: unknown };
  const canonical = canonicalize(unsigned);
  if (canonical === undefined) throw new Error('the report has no JSON form');
  return Buffer.from(canonical, 'utf8');
}

export function signReport<T extends object>(report: T, signer: NoteSigner): T & { signature: ReportSignature } {
  const value = sign(null, canonicalReportBytes(report), signer.privateKey).toString('base64');
  return { ...report, signature: { algorithm: 'Ed25519', signed: jsonSignedPart, key: signer.verifierKey, value } };
}

export function signReportFile(bytes: Buffer, signer: NoteSigner): DetachedReportSignature {
  return {
    algorithm: 'Ed25519',
    signed: fileSignedPart,
    key: signer.verifierKey,
    value: sign(null, bytes, signer.privateKey).toString('base64'),
    file_sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

export type SignatureCheck = { ok: true; key: string } | { ok: false; reason: string };

/**
 * Checks `signature` over `bytes`. With `trustedKeys` the signature must be
 * by one of them (one server's key, or a cluster's published key set: each
 * node signs with its own); without, the key named in the signature is used
 * (which only shows the file is unchanged since whoever holds that key
 * signed it).
 */
function checkSignature(
  bytes: Buffer,
  signature: Partial<ReportSignature> | undefined,
  trustedKeys: readonly string[] | undefined,
): SignatureCheck {
  if (!signature || typeof signature.value !== 'string' || typeof signature.key !== 'string')
    return { ok: false, reason: 'the report carries no signature' };
  if (signature.algorithm !== 'Ed25519') return { ok: false, reason: `unsupported signature algorithm ${String(signature.algorithm)}` };
  const key = signature.key;
  if (trustedKeys !== undefined && !trustedKeys.includes(key)) {
    return {
      ok: false,
      reason:
        trustedKeys.length === 1
          ? `signed by key ${key}, not by the trusted key ${trustedKeys[0]}`
          : `signed by key ${key}, which is none of the ${trustedKeys.length} trusted keys`,
    };
  }
  let publicKey;
  try {
    publicKey = parseVerifierKey(key).publicKey;
  } catch (error) {
    return { ok: false, reason: `${(error as Error).message}: ${key}` };
  }
  if (!verify(null, bytes, publicKey, Buffer.from(signature.value, 'base64'))) {
    return { ok: false, reason: 'the signature does not match the content: the report was modified after it was signed' };
  }
  return { ok: true, key };
}

export function verifyReportJson(report: object, trustedKeys?: readonly string[]): SignatureCheck {
  return checkSignature(
    canonicalReportBytes(report),
    (report as { signature?: unknown }).signature as Partial<ReportSignature> | undefined,
    trustedKeys,
  );
}

export function verifyReportFile(
  bytes: Buffer,
  signature: Partial<DetachedReportSignature>,
  trustedKeys?: readonly string[],
): SignatureCheck {
  if (signature.file_sha256 !== undefined && signature.file_sha256 !== createHash('sha256').update(bytes).digest('hex')) {
    return { ok: false, reason: 'the file’s SHA-256 differs from the one signed: the report was modified after it was signed' };
  }
  return checkSignature(bytes, signature, trustedKeys);
}
