import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defaultKeyRingDir } from '../archive/keyRing.js';
import type { MasterKey } from '../archive/masterKey.js';
import { BackupStore, type BackupCut } from '../storage/stores/backupStore.js';
import type { Storage } from '../storage/engine/storage.js';
import {
  backupFormat,
  backupManifestFile,
  encryptFile,
  sha256,
  type BackedUpTable,
  type BackupFile,
  type BackupManifest,
} from './backupManifest.js';

export interface BackupOptions {
  dataDir: string;
  out: string;
  /** Also copy the private checkpoint signing key and the admin token (owner-only files). */
  includeSecrets: boolean;
  /** Encrypts every file under a fresh backup key wrapped by this key; undefined only when asked for a plaintext backup. */
  masterKey: MasterKey | undefined;
  /** A running meshlog's cut (see BackupCut); a stopped one is copied whole. */
  cut?: BackupCut;
  onProgress?: (message: string) => void;
}

/**
 * Copies a whole meshlog into a new directory: every table (logs, spans,
 * integrity chains, checkpoints, disposal and erasure evidence, keys and
 * policies), partition by partition, with a SHA-256 per file; and the key
 * metadata beside the data directory (verifier key, writer id, archive key
 * ring). Secret keys only when asked.
 */
export async function backupMeshlog(storage: Storage, options: BackupOptions): Promise<BackupManifest> {
  if (existsSync(options.out) && readdirSync(options.out).length > 0)
    throw new Error(`${options.out} is not empty: a backup gets a directory of its own`);
  mkdirSync(join(options.out, 'tables'), { recursive: true, mode: 0o700 });
  const store = new BackupStore(storage);
  const keyId = `backup/${randomBytes(8).toString('hex')}`;
  const backupKey = randomBytes(32);
  const write = (file: string, plain: Buffer): BackupFile => {
    const bytes = options.masterKey ? encryptFile(backupKey, file, plain) : plain;
    mkdirSync(join(options.out, file, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(join(options.out, file), bytes, { mode: 0o600 });
    return { file, sha256: sha256(bytes) };
  };

  const tables: BackedUpTable[] = [];
  for (const table of await store.tables()) {
    const entry: BackedUpTable = { table, rows: 0, partitions: [] };
    for (const partition of await store.partitions(table)) {
      const { text, rows } = await store.readPartition(table, partition, options.cut);
      // A partition past the cut (written after it) has nothing to restore.
      if (rows === 0 && options.cut) continue;
      entry.partitions.push({ ...write(`tables/${table}/${encodeURIComponent(partition)}.tsv.gz`, gzipSync(text)), partition, rows });
      entry.rows += rows;
    }
    options.onProgress?.(`${table}: ${entry.rows} rows`);
    tables.push(entry);
  }

  const dataDir = resolve(options.dataDir);
  const optional = (path: string) => (existsSync(path) ? readFileSync(path) : undefined);
  const verifierKey = optional(`${dataDir}-signing.key.pub`);
  const writerId = optional(join(dataDir, 'writer-id'));
  const ringDir = defaultKeyRingDir(dataDir);
  const ring = existsSync(ringDir) ? readdirSync(ringDir).filter((name) => name.endsWith('.json')) : [];
  const signingKey = options.includeSecrets ? optional(`${dataDir}-signing.key`) : undefined;
  const adminToken = options.includeSecrets ? optional(join(dataDir, 'admin-token')) : undefined;
  const manifest: BackupManifest = {
    format: backupFormat,
    created_at: new Date().toISOString(),
    database: storage.database,
    source: dataDir,
    cut: options.cut ? { at: new Date(options.cut.atMs).toISOString(), chains: options.cut.chains } : null,
    encryption: options.masterKey
      ? {
          algorithm: 'AES-256-GCM',
          key_id: keyId,
          master_key_id: options.masterKey.id,
          wrapped_key: options.masterKey.wrap(backupKey, keyId),
        }
      : null,
    migrations: await store.appliedMigrations(),
    tables,
    keys: {
      verifier_key: verifierKey ? verifierKey.toString('utf8').trim() : null,
      writer_id: writerId ? writerId.toString('utf8').trim() : null,
      archive_key_ring: ring.map((name) => write(`keys/archive-keys/${name}`, readFileSync(join(ringDir, name)))),
      signing_key: signingKey ? write('keys/signing.key', signingKey) : null,
      admin_token: adminToken ? write('keys/admin-token', adminToken) : null,
    },
  };
  writeFileSync(join(options.out, backupManifestFile), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}
