import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { ApiKeyView } from '../api/keys.js';
import { MeshlogError } from '../errors.js';
import { Replica } from '../model/replica.js';
import type { AccessStore, StoredApiKey } from '../storage/stores/accessStore.js';
import { anyTenant, roles, type Identity, type Role } from './identity.js';

const scrypt = promisify(scryptCallback) as (secret: string, salt: Buffer, length: number, options: object) => Promise<Buffer>;
const scryptParams = { N: 16384, r: 8, p: 1 };
const keyPattern = /^mlk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** What `keys create` returns: the only time the secret is ever shown. */
export interface CreatedKey {
  id: string;
  key: string;
}

/** A key as the API answers it (src/api/keys.ts). */
export type KeyView = ApiKeyView;

async function slowHash(secret: string, salt: Buffer): Promise<Buffer> {
  return scrypt(secret, salt, 32, scryptParams);
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * API keys: random, shown once, stored only as an scrypt hash. A verified key
 * is remembered by a fast digest so that each request does not pay for scrypt.
 */
export class ApiKeys {
  private readonly byId = new Map<string, StoredApiKey>();
  private readonly verified = new Map<string, string>();
  private readonly pendingUse = new Map<string, number>();
  /** In a cluster: a key created or revoked on any node is stored on every node, and a revocation takes effect at once. */
  readonly replica = new Replica<StoredApiKey>((key) => this.applyReplicated(key));

  private constructor(private readonly store: AccessStore) {}

  static async open(store: AccessStore): Promise<ApiKeys> {
    const keys = new ApiKeys(store);
    for (const key of await store.keys()) keys.byId.set(key.id, key);
    return keys;
  }

  static looksLikeKey(token: string): boolean {
    return keyPattern.test(token);
  }

  async create(options: { name: string; roles: Role[]; tenants: string[]; expiresAt?: Date; createdBy: string }): Promise<CreatedKey> {
    if (options.roles.length === 0) throw new MeshlogError('ML_DECODE', `a key needs at least one role (${roles.join(', ')})`);
    if (options.tenants.length === 0) throw new MeshlogError('ML_DECODE', `a key needs at least one tenant (or "${anyTenant}")`);
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const hash = await slowHash(secret, salt);
    const key: StoredApiKey = {
      id,
      name: options.name,
      roles: options.roles,
      tenants: options.tenants,
      secret_hash: `scrypt$${scryptParams.N}$${scryptParams.r}$${scryptParams.p}$${salt.toString('base64')}$${hash.toString('base64')}`,
      created_by: options.createdBy,
      created_at: new Date().toISOString(),
      expires_at: options.expiresAt?.toISOString() ?? null,
      revoked_at: null,
      revoked_by: '',
      last_used_at: null,
    };
    await this.store.saveKey(key);
    this.byId.set(id, key);
    await this.replica.send(key);
    return { id, key: `mlk_${id}_${secret}` };
  }

  async revoke(id: string, by: string): Promise<KeyView> {
    const key = this.byId.get(id);
    if (!key) throw new MeshlogError('ML_NOT_FOUND', `no key ${id}`);
    if (!key.revoked_at) {
      key.revoked_at = new Date().toISOString();
      key.revoked_by = by;
      await this.store.saveKey(key);
    }
    for (const [token, keyId] of this.verified) if (keyId === id) this.verified.delete(token);
    // Also when already revoked here: a revoke retried after a failed replication replicates it.
    await this.replica.send(key);
    return this.view(key);
  }

  private async applyReplicated(key: StoredApiKey): Promise<void> {
    const known = this.byId.get(key.id);
    if (known && known.revoked_at === key.revoked_at && known.expires_at === key.expires_at) return;
    // A revocation is never undone by an older state of the key.
    const merged: StoredApiKey =
      known?.revoked_at && !key.revoked_at ? { ...key, revoked_at: known.revoked_at, revoked_by: known.revoked_by } : key;
    await this.store.saveKey(merged);
    this.byId.set(key.id, merged);
    for (const [token, keyId] of this.verified) if (keyId === key.id) this.verified.delete(token);
  }

  list(): KeyView[] {
    return [...this.byId.values()].map((key) => this.view(key));
  }

  private view(key: StoredApiKey): KeyView {
    const { secret_hash: _hash, ...rest } = key;
    const lastUse = this.pendingUse.get(key.id);
    return {
      ...rest,
      last_used_at: lastUse ? new Date(lastUse).toISOString() : key.last_used_at,
      state: key.revoked_at ? 'revoked' : key.expires_at && Date.parse(key.expires_at) <= Date.now() ? 'expired' : 'active',
    };
  }

  /** The identity of a presented key; throws ML_AUTH_INVALID for unknown, wrong, revoked or expired keys. */
  async identify(token: string): Promise<Identity> {
    const match = keyPattern.exec(token);
    const key = match ? this.byId.get(match[1]) : undefined;
    if (!match || !key) throw new MeshlogError('ML_AUTH_INVALID');
    if (key.revoked_at) throw new MeshlogError('ML_AUTH_INVALID', `key ${key.id} was revoked`);
    if (key.expires_at && Date.parse(key.expires_at) <= Date.now()) throw new MeshlogError('ML_AUTH_INVALID', `key ${key.id} expired`);
    const tokenDigest = digest(token);
    if (this.verified.get(tokenDigest) !== key.id) {
      const [, , , , salt, expected] = key.secret_hash.split('$');
      const actual = await slowHash(match[2], Buffer.from(salt, 'base64'));
      if (!timingSafeEqual(actual, Buffer.from(expected, 'base64'))) throw new MeshlogError('ML_AUTH_INVALID');
      this.verified.set(tokenDigest, key.id);
    }
    this.pendingUse.set(key.id, Date.now());
    return { id: key.id, name: key.name, kind: 'api_key', roles: key.roles as Role[], tenants: key.tenants };
  }

  /** Writes last-used times gathered since the previous flush. */
  async flushUsage(): Promise<void> {
    const uses = new Map(this.pendingUse);
    await this.store.recordUse(uses);
    for (const [id, at] of uses) {
      const key = this.byId.get(id);
      if (key) key.last_used_at = new Date(at).toISOString();
      if (this.pendingUse.get(id) === at) this.pendingUse.delete(id);
    }
  }
}
