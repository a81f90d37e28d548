import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and
 * the tlog-checkpoint body they carry: origin, tree size, base64 root hash.
 */
const ed25519Algorithm = 0x01;
const signaturePrefix = '\u2014 ';

export interface NoteSigner {
  name: string;
  privateKey: KeyObject;
  publicKey: Buffer;
  /** The verifier key string: `<name>+<hex key hash>+<base64(0x01 || public key)>`. */
  verifierKey: string;
}

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
}

function keyHash(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(`${name}\n`)
    .update(Buffer.from([ed25519Algorithm]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

export function verifierKeyString(name: string, publicKey: Buffer): string {
  return `${name}+${keyHash(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ed25519Algorithm]), publicKey]).toString('base64')}`;
}

/**
 * The checkpoint signing key, kept outside the data directory so that whoever
 * can rewrite the data cannot re-sign it. Generated (mode 0600) on first use.
 */
export function loadOrCreateSigner(path: string, name: string): { signer: NoteSigner; created: boolean } {
  let created = false;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    created = true;
  }
  const privateKey = createPrivateKey(readFileSync(path));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 private key`);
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return { signer: { name, privateKey, publicKey, verifierKey: verifierKeyString(name, publicKey) }, created };
}

export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) throw new Error('note text must end with a newline');
  const signature = sign(null, Buffer.from(text), signer.privateKey);
  const blob = Buffer.concat([keyHash(signer.name, signer.publicKey), signature]).toString('base64');
  return `${text}\n${signaturePrefix}${signer.name} ${blob}\n`;
}

export function checkpointText(origin: string, treeSize: number, rootHash: Buffer): string {
  return `${origin}\n${treeSize}\n${rootHash.toString('base64')}\n`;
}

export interface ParsedCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
}

/** A C2SP verifier key string (`<name>+<hex key hash>+<base64(0x01 || key)>`) as its parts and an Ed25519 public key. */
export function parseVerifierKey(verifierKey: string): { name: string; hashHex: string; publicKey: KeyObject } {
  // The base64 key may itself contain '+': only the first two separate fields.
  const [name, hashHex, ...keyParts] = verifierKey.split('+');
  const keyBase64 = keyParts.join('+');
  const keyBytes = Buffer.from(keyBase64 ?? '', 'base64');
  if (!name || !hashHex || keyBytes.length !== 33 || keyBytes[0] !== ed25519Algorithm) throw new Error('malformed verifier key');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: keyBytes.subarray(1).toString('base64url') }, format: 'jwk' });
  return { name, hashHex, publicKey };
}

/**
 * Opens a signed checkpoint with a verifier key string; throws with the
 * reason when the note is malformed or no signature by that key verifies.
 */
export function openCheckpoint(note: string, verifierKey: string): ParsedCheckpoint {
  const { name, hashHex, publicKey } = parseVerifierKey(verifierKey);

  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('not a signed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const signatureLines = note
    .slice(split + 2)
    .split('\n')
    .filter((line) => line !== '');
  let verified = false;
  for (const line of signatureLines) {
    if (!line.startsWith(signaturePrefix)) throw new Error(`malformed signature line "${line.slice(0, 40)}"`);
    const [signerName, blobBase64] = line.slice(signaturePrefix.length).split(' ');
    const blob = Buffer.from(blobBase64 ?? '', 'base64');
    if (signerName !== name || blob.length !== 68 || blob.subarray(0, 4).toString('hex') !== hashHex) continue;
    if (!verify(null, Buffer.from(text), publicKey, blob.subarray(4))) throw new Error(`signature by ${name} does not verify`);
    verified = true;
  }
  if (!verified) throw new Error(`no signature by ${name}`);

  const [origin, size, root, ...rest] = text.slice(0, -1).split('\n');
  if (!origin || !/^\d+$/.test(size ?? '') || !root || rest.some((line) => line === '')) throw new Error('malformed checkpoint body');
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32) throw new Error('checkpoint root hash is not 32 bytes');
  return { origin, treeSize: Number(size), rootHash };
}
