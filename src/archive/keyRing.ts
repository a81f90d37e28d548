import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { MasterKey } from './masterKey.js';

/** A per-tenant, per-period archive data key, wrapped under the master key; after shredding only its tombstone is left. */
export interface KeyRingEntry {
  key_id: string;
  tenant: string;
  /** UTC month, YYYY-MM. */
  period: string;
  master_key_id: string;
  created_at: string;
  created_by: string;
  /** Base64 wrapped key; null once shredded. */
  wrapped: string | null;
  shredded: { at: string; by: string; reason: string } | null;
}

export class KeyShreddedError extends Error {
  constructor(readonly entry: KeyRingEntry) {
    super(
      `the data key ${entry.key_id} was crypto-shredded at ${entry.shredded!.at} by ${entry.shredded!.by} (${entry.shredded!.reason}): ` +
        'archives encrypted with it can no longer be decrypted',
    );
    this.name = 'KeyShreddedError';
  }
}

/** Default key ring: beside the data directory, never inside it. */
export function defaultKeyRingDir(dataDir: string): string {
  return `${resolve(dataDir)}-archive-keys`;
}

/** The period (UTC month) of an instant, ns since the epoch. */
export function periodOf(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 7);
}

/** A fresh data key for a tenant and period and its ring entry, wrapped under `master`. */
export function newDataKey(master: MasterKey, tenant: string, period: string, createdBy: string): { entry: KeyRingEntry; key: Buffer } {
  const keyId = `${tenant}/${period}`;
  const key = randomBytes(32);
  const entry: KeyRingEntry = {
    key_id: keyId,
    tenant,
    period,
    master_key_id: master.id,
    created_at: new Date().toISOString(),
    created_by: createdBy,
    wrapped: master.wrap(key, keyId),
    shredded: null,
  };
  return { entry, key };
}

/** Awaited by its users: a directory's ring answers at once, a cluster's (sharedKeyRing.ts) after asking the bucket. */
type Answer<T> = T | Promise<T>;

/** What an export and the archive routes use of a key ring: a directory's own, or in a cluster the shared one. */
export interface ArchiveKeys {
  readonly masterKeyId: string;
  entry(tenant: string, period: string): Answer<KeyRingEntry | undefined>;
  list(): Answer<KeyRingEntry[]>;
  dataKey(tenant: string, period: string, createdBy: string): Answer<{ keyId: string; key: Buffer }>;
  shred(tenant: string, period: string, by: string, reason: string): Answer<KeyRingEntry>;
}

/**
 * Archive data keys, one file per tenant and period in a directory outside
 * the data directory. Destroying a key (crypto-shredding) replaces its file
 * with a tombstone saying who destroyed it, when and why.
 */
export class KeyRing implements ArchiveKeys {
  private master: MasterKey | undefined;

  /** `loadMaster` runs on first need, so a server that never archives never creates a master key. */
  constructor(
    readonly dir: string,
    private readonly loadMaster: (() => MasterKey) | undefined,
  ) {}

  get masterKeyId(): string {
    return this.masterKey().id;
  }

  private path(tenant: string, period: string): string {
    return join(this.dir, `${encodeURIComponent(tenant)}@${period}.json`);
  }

  entry(tenant: string, period: string): KeyRingEntry | undefined {
    const path = this.path(tenant, period);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as KeyRingEntry) : undefined;
  }

  list(): KeyRingEntry[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as KeyRingEntry)
      .sort((a, b) => a.key_id.localeCompare(b.key_id));
  }

  /** The data key of a tenant and period, created on first use; a shredded one stays destroyed. */
  dataKey(tenant: string, period: string, createdBy: string): { keyId: string; key: Buffer } {
    const existing = this.entry(tenant, period);
    if (existing) return { keyId: existing.key_id, key: this.unwrap(existing) };
    const { entry, key } = newDataKey(this.masterKey(), tenant, period, createdBy);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(this.path(tenant, period), JSON.stringify(entry, null, 2), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // A concurrent export created it first: use that one, never a second key for one period.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return this.dataKey(tenant, period, createdBy);
      throw error;
    }
    return { keyId: entry.key_id, key };
  }

  /** The data key an archive names; throws KeyShreddedError once destroyed. */
  open(keyId: string): Buffer {
    const slash = keyId.lastIndexOf('/');
    const entry = this.entry(keyId.slice(0, slash), keyId.slice(slash + 1));
    if (!entry) throw new Error(`the key ring ${this.dir} has no data key ${keyId}`);
    return this.unwrap(entry);
  }

  /** Crypto-shredding: overwrites the wrapped key in place, then leaves only a tombstone. */
  shred(tenant: string, period: string, by: string, reason: string): KeyRingEntry {
    const entry = this.entry(tenant, period);
    if (!entry) throw new Error(`no data key ${tenant}/${period}`);
    if (entry.shredded) throw new KeyShreddedError(entry);
    const tombstone: KeyRingEntry = { ...entry, wrapped: null, shredded: { at: new Date().toISOString(), by, reason } };
    this.replace(tombstone);
    return tombstone;
  }

  /**
   * Keeps a copy of the cluster's entry here (sharedKeyRing.ts), where the
   * offline `meshlog archive verify` finds it. A tombstone shreds the copy;
   * a key this ring saw shredded is never taken back, nor one that differs
   * from the key this ring already holds for the period (archives were
   * encrypted with that one).
   */
  adopt(entry: KeyRingEntry): void {
    const held = this.entry(entry.tenant, entry.period);
    if (held?.shredded) {
      if (entry.shredded) return;
      throw new Error(`the data key ${entry.key_id} was shredded here at ${held.shredded.at}: a live copy of it is refused`);
    }
    if (held && !entry.shredded && held.wrapped !== entry.wrapped)
      throw new Error(
        `the data key ${entry.key_id} here (created ${held.created_at} by ${held.created_by}) is not the cluster's (created ${entry.created_at} by ${entry.created_by}): archives encrypted with either need it, so neither replaces the other; move ${this.path(entry.tenant, entry.period)} aside to take the cluster's`,
      );
    if (held && !entry.shredded) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.replace(entry);
  }

  /** Writes an entry whole (a new one, or a tombstone over zeroes, so the wrapped key does not survive in the file's old blocks). */
  private replace(entry: KeyRingEntry): void {
    const path = this.path(entry.tenant, entry.period);
    if (existsSync(path)) {
      const fd = openSync(path, 'r+');
      try {
        writeSync(fd, Buffer.alloc(statSync(path).size), 0);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    writeFileSync(`${path}.tmp`, JSON.stringify(entry, null, 2), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  private unwrap(entry: KeyRingEntry): Buffer {
    if (entry.shredded || !entry.wrapped) throw new KeyShreddedError(entry);
    return this.masterKey().unwrap(entry.wrapped, entry.key_id);
  }

  /** Loaded on first need (created, when the subsystem lets it, with its file). */
  masterKey(): MasterKey {
    if (!this.loadMaster) throw new Error('no archive master key loaded');
    this.master ??= this.loadMaster();
    return this.master;
  }
}
