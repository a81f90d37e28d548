import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { ArchiveKeyBucket } from '../model/archiveKeyBucket.js';
import { KeyShreddedError, newDataKey, type ArchiveKeys, type KeyRing, type KeyRingEntry } from './keyRing.js';
import type { MasterKey } from './masterKey.js';

/** The bucket value naming the master key the ring is wrapped under, claimed by the first node that creates a data key. */
const masterClaimName = 'master-key';
const entryName = (tenant: string, period: string) => `key/${tenant}/${period}`;

interface MasterClaim {
  master_key_id: string;
  claimed_at: string;
  claimed_by: string;
}

const refused = (keyId: string, reason: string) =>
  new MeshlogError(
    'ML_CONFLICT',
    `the cluster's archive key ring entry ${keyId} is refused: ${reason}; nothing is encrypted or decrypted with it`,
  );

const otherMaster = (clusterMasterId: string, master: MasterKey) =>
  new MeshlogError(
    'ML_CONFLICT',
    `this node's archive master key (id ${master.id}, from ${master.source}) is not the one the cluster's archive key ring is wrapped under (id ${clusterMasterId}): ` +
      'give every node the same master key (archive.master_key_file or MESHLOG_ARCHIVE_MASTER_KEY); until then this node uses no key of the ring and creates none',
  );

const isShredding = (value: unknown) =>
  typeof value === 'object' &&
  value !== null &&
  ['at', 'by', 'reason'].every((field) => typeof (value as Record<string, unknown>)[field] === 'string');

/**
 * The archive key ring of a cluster: each data key, wrapped under the master
 * key, lives in a replicated bucket (replicatedArchiveKeys.ts), so an archive
 * exported through one node decrypts with any node's ring, a key created or
 * shredded on one node is the one every node uses, and a node that lost its
 * disk gets the ring back at start. Each node keeps a copy of every entry in
 * its own key ring directory (`KeyRing.adopt`), where the offline
 * `meshlog archive verify` reads it.
 *
 * Two nodes creating the same period's key at once both write over revision
 * 0; the bucket keeps one, and the other node drops its own (never used) and
 * takes the winner's. Whoever can write the bucket is not trusted: an entry
 * is used only if it names this ring's place, is wrapped under this node's
 * master key and unwraps with it (AES-GCM bound to the key id); anything
 * else is refused with the reason. The first node to create a key claims the
 * ring for its master key; a node given another master key refuses the ring
 * and never starts a second one.
 */
export class SharedKeyRing implements ArchiveKeys {
  private stopWatching: (() => void) | undefined;
  /** The last fetch: fetches run one at a time, so an older read never lands in the directory after a newer one (a tombstone). */
  private fetching: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly local: KeyRing,
    private readonly bucket: ArchiveKeyBucket,
    private readonly node: string,
    private readonly logger: Logger,
  ) {}

  get masterKeyId(): string {
    return this.local.masterKeyId;
  }

  /**
   * Copies the cluster's ring into this node's directory, after offering the
   * cluster the keys this node created before it joined; then copies each
   * change as it comes. An entry refused is left out, with the reason logged.
   */
  async start(): Promise<void> {
    const names = await this.bucket.names();
    const own = this.local.list().filter((entry) => !names.includes(entryName(entry.tenant, entry.period)));
    try {
      if (names.includes(masterClaimName) || own.length > 0) await this.claimMaster();
    } catch (error) {
      this.logger.error({ reason: (error as Error).message }, 'archive key ring refused');
      return;
    }
    for (const entry of own) await this.bucket.replace(entryName(entry.tenant, entry.period), JSON.stringify(entry), 0);
    for (const name of names) await this.copy(name);
    this.stopWatching = await this.bucket.watch((name) => void this.copy(name));
  }

  stop(): void {
    this.stopWatching?.();
  }

  async entry(tenant: string, period: string): Promise<KeyRingEntry | undefined> {
    return (await this.fetch(tenant, period))?.entry;
  }

  async list(): Promise<KeyRingEntry[]> {
    const entries: KeyRingEntry[] = [];
    for (const name of await this.bucket.names()) {
      const [kind, tenant, period] = name.split('/');
      if (kind !== 'key' || !tenant || !period) continue;
      try {
        const held = await this.fetch(tenant, period);
        if (held) entries.push(held.entry);
      } catch (error) {
        this.logger.error({ key: name, reason: (error as Error).message }, 'archive key ring entry refused');
      }
    }
    return entries.sort((a, b) => a.key_id.localeCompare(b.key_id));
  }

  /** The period's data key; created and written over revision 0 when the ring has none, or the one another node wrote first. */
  async dataKey(tenant: string, period: string, createdBy: string): Promise<{ keyId: string; key: Buffer }> {
    const held = await this.fetch(tenant, period);
    if (held) return { keyId: held.entry.key_id, key: this.unwrap(held.entry) };
    await this.claimMaster();
    const { entry, key } = newDataKey(this.local.masterKey(), tenant, period, createdBy);
    if (await this.bucket.replace(entryName(tenant, period), JSON.stringify(entry), 0)) {
      this.local.adopt(entry);
      return { keyId: entry.key_id, key };
    }
    // Another node created the period's key at the same moment: that one is the period's; this one was never used.
    const winner = await this.fetch(tenant, period);
    if (!winner)
      throw new MeshlogError('ML_UNAVAILABLE', `the data key ${entry.key_id} was written by another node but cannot be read yet`);
    return { keyId: winner.entry.key_id, key: this.unwrap(winner.entry) };
  }

  /** Replaces the entry with its tombstone only if no other node changed it since it was read; then shreds this node's copy. */
  async shred(tenant: string, period: string, by: string, reason: string): Promise<KeyRingEntry> {
    const held = await this.fetch(tenant, period);
    if (!held) throw new Error(`no data key ${tenant}/${period}`);
    if (held.entry.shredded) throw new KeyShreddedError(held.entry);
    const tombstone: KeyRingEntry = { ...held.entry, wrapped: null, shredded: { at: new Date().toISOString(), by, reason } };
    if (!(await this.bucket.replace(entryName(tenant, period), JSON.stringify(tombstone), held.revision)))
      throw new MeshlogError(
        'ML_CONFLICT',
        `the data key ${held.entry.key_id} was changed on another node meanwhile: look again, then shred`,
      );
    this.local.adopt(tombstone);
    return tombstone;
  }

  /** The cluster's entry, checked, and copied into this node's directory. */
  private fetch(tenant: string, period: string): Promise<{ entry: KeyRingEntry; revision: number } | undefined> {
    const fetched = this.fetching.then(() => this.fetchNow(tenant, period));
    this.fetching = fetched.catch(() => undefined);
    return fetched;
  }

  private async fetchNow(tenant: string, period: string): Promise<{ entry: KeyRingEntry; revision: number } | undefined> {
    const value = await this.bucket.get(entryName(tenant, period));
    if (!value) return undefined;
    const entry = this.checked(value.text, tenant, period);
    try {
      this.local.adopt(entry);
    } catch (error) {
      throw refused(entry.key_id, (error as Error).message);
    }
    return { entry, revision: value.revision };
  }

  private checked(text: string, tenant: string, period: string): KeyRingEntry {
    const keyId = `${tenant}/${period}`;
    let value: Partial<Record<keyof KeyRingEntry, unknown>>;
    try {
      value = JSON.parse(text) as typeof value;
    } catch {
      throw refused(keyId, 'it is not JSON');
    }
    const shape =
      typeof value === 'object' &&
      value !== null &&
      value.key_id === keyId &&
      value.tenant === tenant &&
      value.period === period &&
      typeof value.master_key_id === 'string' &&
      typeof value.created_at === 'string' &&
      typeof value.created_by === 'string' &&
      ((typeof value.wrapped === 'string' && value.shredded === null) || (value.wrapped === null && isShredding(value.shredded)));
    if (!shape) throw refused(keyId, `it is not a key ring entry for ${keyId}`);
    const entry = value as KeyRingEntry;
    const master = this.local.masterKey();
    if (entry.master_key_id !== master.id) throw otherMaster(entry.master_key_id, master);
    if (entry.wrapped !== null) {
      try {
        master.unwrap(entry.wrapped, keyId);
      } catch (error) {
        throw refused(keyId, (error as Error).message);
      }
    }
    const { key_id, master_key_id, created_at, created_by, wrapped, shredded } = entry;
    return { key_id, tenant, period, master_key_id, created_at, created_by, wrapped, shredded };
  }

  /** The ring is this node's master key's: claimed now if no node has, else checked. */
  private async claimMaster(): Promise<void> {
    const master = this.local.masterKey();
    const claim: MasterClaim = { master_key_id: master.id, claimed_at: new Date().toISOString(), claimed_by: this.node };
    for (let attempt = 0; attempt < 3; attempt++) {
      const value = await this.bucket.get(masterClaimName);
      if (!value) {
        if (await this.bucket.replace(masterClaimName, JSON.stringify(claim), 0)) return;
        continue;
      }
      let claimed: unknown;
      try {
        claimed = (JSON.parse(value.text) as Partial<MasterClaim>).master_key_id;
      } catch {
        claimed = undefined;
      }
      if (typeof claimed !== 'string') throw refused(masterClaimName, 'its master key claim is not JSON naming a master key id');
      if (claimed !== master.id) throw otherMaster(claimed, master);
      return;
    }
    throw new MeshlogError('ML_UNAVAILABLE', 'the archive key ring’s master key claim could not be read back');
  }

  private async copy(name: string): Promise<void> {
    const [kind, tenant, period] = name.split('/');
    if (kind !== 'key' || !tenant || !period) return;
    try {
      await this.fetch(tenant, period);
    } catch (error) {
      this.logger.error({ key: name, reason: (error as Error).message }, 'archive key ring entry refused');
    }
  }

  private unwrap(entry: KeyRingEntry): Buffer {
    if (entry.shredded || !entry.wrapped) throw new KeyShreddedError(entry);
    return this.local.masterKey().unwrap(entry.wrapped, entry.key_id);
  }
}
