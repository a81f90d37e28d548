import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

type Bytes = string | Uint8Array;

/** sha512_hex(salt + hostname + nonce + shared_key), as both sides of the forward handshake compute it. */
function sharedKeyDigest(salt: Bytes, hostname: Bytes, nonce: Bytes, sharedKey: string): string {
  return createHash('sha512').update(salt).update(hostname).update(nonce).update(sharedKey).digest('hex');
}

const isBytes = (value: unknown): value is Bytes => typeof value === 'string' || value instanceof Uint8Array;

/**
 * The server side of the forward protocol's shared-key handshake (Forward
 * Protocol v1, "Handshake Messages"): send HELO with a fresh nonce, check
 * the client's PING digest, answer PONG with the server's own digest.
 */
export class ForwardHandshake {
  private readonly nonce = randomBytes(16);

  constructor(
    private readonly sharedKey: string,
    private readonly serverHostname: string,
  ) {}

  /** `['HELO', {nonce, auth, keepalive}]`; empty auth = no username/password step. */
  helo(): unknown[] {
    return ['HELO', { nonce: this.nonce, auth: '', keepalive: true }];
  }

  /** The PONG for a PING, and whether the client proved it knows the shared key. */
  answer(ping: unknown): { pong: unknown[]; accepted: boolean; reason: string } {
    const refuse = (reason: string) => ({ pong: ['PONG', false, reason, this.serverHostname, ''], accepted: false, reason });
    if (!Array.isArray(ping) || ping.length !== 6 || ping[0] !== 'PING') return refuse('expected PING after HELO');
    const [, clientHostname, salt, digest] = ping as unknown[];
    if (!isBytes(clientHostname) || !isBytes(salt) || typeof digest !== 'string') return refuse('malformed PING');
    const expected = Buffer.from(sharedKeyDigest(salt, clientHostname, this.nonce, this.sharedKey));
    const presented = Buffer.from(digest);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return refuse('shared_key mismatch');
    const serverDigest = sharedKeyDigest(salt, this.serverHostname, this.nonce, this.sharedKey);
    return { pong: ['PONG', true, '', this.serverHostname, serverDigest], accepted: true, reason: '' };
  }
}
