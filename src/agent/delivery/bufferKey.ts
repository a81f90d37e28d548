import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';

/** Default key file: beside the agent's data directory, never inside it. */
export function defaultBufferKeyFile(dataDir: string): string {
  return `${resolve(dataDir)}-buffer.key`;
}

/**
 * The AES-256 key of the agent's disk buffer (64 hex digits), created
 * owner-only on first use. Outside the data directory, so a copy of the
 * buffer is not a copy of the logs in it.
 */
export function loadBufferKey(keyFile: string, dataDir: string): Buffer {
  const file = resolve(keyFile);
  if (file.startsWith(resolve(dataDir) + sep)) throw new Error(`buffer.key_file ${keyFile} is inside the data directory ${dataDir}`);
  if (!existsSync(file)) {
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  }
  const hex = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${keyFile}: expected 64 hex digits`);
  return Buffer.from(hex, 'hex');
}

const nonceBytes = 12;
const tagBytes = 16;

/** AES-256-GCM: nonce, ciphertext, tag. `context` (the frame header) is authenticated with it. */
export function sealFrameBody(key: Buffer, context: Buffer, body: Buffer): Buffer {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(context);
  return Buffer.concat([nonce, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
}

export function openFrameBody(key: Buffer, context: Buffer, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, nonceBytes));
  decipher.setAAD(context);
  decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
  return Buffer.concat([decipher.update(sealed.subarray(nonceBytes, sealed.length - tagBytes)), decipher.final()]);
}

/**
 * Names the key a frame was sealed with (an HMAC of a fixed label, so it says nothing of the key): a frame sealed
 * with another key is a configuration error that stops sending, one that fails authentication with the right key
 * is damaged and is quarantined.
 */
export function bufferKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('meshlog agent buffer key id').digest('hex').slice(0, 16);
}
