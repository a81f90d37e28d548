import { sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { parseVerifierKey, type NoteSigner } from '../integrity/signedNote.js';

/** What a policy version's signature covers: the applied file by its hash, and who applied it when, as which version. */
export interface PolicyFacts {
  tenant: string;
  version: number;
  label: string;
  sha256: string;
  previous_sha256: string | null;
  applied_at: string;
  applied_by: string;
}

export interface PolicySignature {
  algorithm: 'Ed25519';
  signed: string;
  /** Verifier key of meshlog's signing key (the one reports are signed with, `<data_dir>-signing.key.pub`). */
  key: string;
  value: string;
  facts: PolicyFacts;
}

const signedPart = 'RFC 8785 (JCS) canonical JSON of facts';

const bytesOf = (facts: PolicyFacts) => Buffer.from(canonicalize(facts) ?? '', 'utf8');

export function signPolicy(facts: PolicyFacts, signer: NoteSigner): PolicySignature {
  return {
    algorithm: 'Ed25519',
    signed: signedPart,
    key: signer.verifierKey,
    value: sign(null, bytesOf(facts), signer.privateKey).toString('base64'),
    facts,
  };
}

/** Whether the signature is by the key it names and covers its facts. */
export function policySignatureValid(signature: PolicySignature): boolean {
  return verify(null, bytesOf(signature.facts), parseVerifierKey(signature.key).publicKey, Buffer.from(signature.value, 'base64'));
}
