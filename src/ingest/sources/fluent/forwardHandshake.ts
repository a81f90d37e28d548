import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

type Bytes = string | Uint8Array;

/** sha512_hex(salt + hostname + nonce + shared_key), as both sides of the forward handshake compute it. */
function sharedKeyDigest(salt: Bytes, hostname: Bytes, nonce: Bytes, sharedKey: string): string {
  return createHash('sha512').update(salt).update(hostname).update(nonce).update(sharedKey).digest('hex');
}

const isBytes = (value: unknown): value is Bytes => typeof value === 'string' || value instanceof Uint8Array;

/**
 * The server side of the forward protocol's shared-key handshake (Forward
 * Protocol v1, "Handshake Messages"): send HELO with a fresh nonce (and an
 * auth salt when users are configured), check the client's PING digests,
 * answer PONG with the server's own digest.
 */
export class ForwardHandshake {
  private readonly nonce = randomBytes(16);
  private readonly authSalt: Buffer | undefined;

  constructor(
    private readonly sharedKey: string,
    private readonly serverHostname: string,
    /** Username → password; empty: no username/password step. */
    private readonly users: ReadonlyMap<string, string> = new Map(),
  ) {
    this.authSalt = users.size > 0 ? randomBytes(16) : undefined;
  }

  /** `['HELO', {nonce, auth, keepalive}]`; empty auth = no username/password step. */
  helo(): unknown[] {
    return ['HELO', { nonce: this.nonce, auth: this.authSalt ?? '', keepalive: true }];
  }

  /** The PONG for a PING, whether the client proved it knows the shared key (and a user's password), and which user. */
  answer(ping: unknown): { pong: unknown[]; accepted: boolean; reason: string; username?: string } {
    const refuse = (reason: string) => ({ pong: ['PONG', false, reason, this.serverHostname, ''], accepted: false, reason });
    if (!Array.isArray(ping) || ping.length !== 6 || ping[0] !== 'PING') return refuse('expected PING after HELO');
    const [, clientHostname, salt, digest] = ping as unknown[];
    if (!isBytes(clientHostname) || !isBytes(salt) || typeof digest !== 'string') return refuse('malformed PING');
    const expected = Buffer.from(sharedKeyDigest(salt, clientHostname, this.nonce, this.sharedKey));
    const presented = Buffer.from(digest);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return refuse('shared_key mismatch');
    let username: string | undefined;
    if (this.authSalt) {
      const [, , , , user, passwordDigest] = ping as unknown[];
      const name = isBytes(user) ? Buffer.from(user).toString('utf8') : '';
      const password = this.users.get(name);
      // The same work for an unknown user as for a wrong password: the answer tells nothing about which names exist.
      const expectedPassword = Buffer.from(
        createHash('sha512')
          .update(this.authSalt)
          .update(name)
          .update(password ?? randomBytes(16))
          .digest('hex'),
      );
      const presentedPassword = Buffer.from(typeof passwordDigest === 'string' ? passwordDigest : '');
      if (
        password === undefined ||
        presentedPassword.length !== expectedPassword.length ||
        !timingSafeEqual(presentedPassword, expectedPassword)
      )
        return refuse('username/password mismatch');
      username = name;
    }
    const serverDigest = sharedKeyDigest(salt, this.serverHostname, this.nonce, this.sharedKey);
    return { pong: ['PONG', true, '', this.serverHostname, serverDigest], accepted: true, reason: '', username };
  }
}
