import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { defaultKeyRingDir, type KeyRingEntry } from '../archive/keyRing.js';
import type { MasterKey } from '../archive/masterKey.js';
import { verifyIntegrity, type Finding, type VerifyReport } from '../integrity/verifier.js';
import { BackupStore } from '../storage/stores/backupStore.js';
import { migrations } from '../storage/engine/migrations.js';
import { SealStore } from '../storage/logs/sealStore.js';
import type { Storage } from '../storage/engine/storage.js';
import { writeRestoreMarker } from './restoreMarker.js';
import { reapplyDeletions, type ReapplySummary } from './reapplyDeletions.js';
import { defaultDeletionLedgerFile, readDeletionLedger } from '../retention/deletionLedger.js';
import { backupFormat, backupManifestFile, decryptFile, sha256, type BackupManifest } from './backupManifest.js';

/** Reads a backup's manifest and checks every file it names against its SHA-256 before anything is restored. */
export function openBackup(dir: string): BackupManifest {
  const path = join(dir, backupManifestFile);
  if (!existsSync(path)) throw new Error(`${dir} is not a meshlog backup: no ${backupManifestFile}`);
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
  if (manifest.format !== backupFormat) throw new Error(`${path}: format ${String(manifest.format)} is not ${backupFormat}`);
  const known = new Set(migrations.map((migration) => migration.version));
  const unknown = manifest.migrations.filter((version) => !known.has(version));
  if (unknown.length > 0)
    throw new Error(`the backup was written by a newer meshlog (schema migrations ${unknown.join(', ')} are unknown here)`);
  const files = [
    ...manifest.tables.flatMap((table) => table.partitions),
    ...manifest.keys.archive_key_ring,
    ...(manifest.keys.signing_key ? [manifest.keys.signing_key] : []),
    ...(manifest.keys.admin_token ? [manifest.keys.admin_token] : []),
  ];
  for (const file of files) {
    const full = join(dir, file.file);
    if (!existsSync(full)) throw new Error(`the backup is incomplete: ${file.file} is missing`);
    if (sha256(readFileSync(full)) !== file.sha256)
      throw new Error(`the backup is damaged: ${file.file} does not have the SHA-256 the manifest names`);
  }
  return manifest;
}

/** Reads a backup file's plain bytes: decrypted with the backup key, which the archive master key unwraps. */
export function backupReader(backupDir: string, manifest: BackupManifest, masterKey: MasterKey | undefined): (file: string) => Buffer {
  const encryption = manifest.encryption;
  if (!encryption) return (file) => readFileSync(join(backupDir, file));
  if (!masterKey)
    throw new Error(
      `the backup is encrypted under archive master key ${encryption.master_key_id}: pass --master-key FILE or set MESHLOG_ARCHIVE_MASTER_KEY`,
    );
  if (masterKey.id !== encryption.master_key_id)
    throw new Error(
      `the backup is encrypted under archive master key ${encryption.master_key_id}, not ${masterKey.id} (from ${masterKey.source})`,
    );
  const key = masterKey.unwrap(encryption.wrapped_key, encryption.key_id);
  return (file) => decryptFile(key, file, readFileSync(join(backupDir, file)));
}

/** Where a new data directory is: it must not exist yet or be empty, so a restore never mixes with live data. */
export function checkFreshDataDir(dataDir: string): void {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) throw new Error(`${dataDir} is not empty: restore into a new data directory`);
  for (const beside of [
    `${resolve(dataDir)}-signing.key`,
    `${resolve(dataDir)}-signing.key.pub`,
    defaultKeyRingDir(dataDir),
    defaultDeletionLedgerFile(dataDir),
  ]) {
    if (existsSync(beside)) throw new Error(`${beside} already exists: restore beside a fresh data directory`);
  }
}

export interface RestoreResult {
  tables: number;
  rows: number;
  verifierKey: string | undefined;
  signingKeyRestored: boolean;
  /** Archive data keys the backup still held wrapped but that were shredded since: restored as their tombstones. */
  shreddedSince: string[];
  /** What the deletion ledger took out again; undefined when restored without one. */
  reapplied: ReapplySummary | undefined;
  verification: VerifyReport | undefined;
}

/**
 * Restores a backup into `storage` (opened on a new data directory), puts the
 * key metadata beside it, checks every table's row count, then re-runs
 * integrity verification over what was restored.
 */
export async function restoreMeshlog(
  storage: Storage,
  manifest: BackupManifest,
  options: {
    dataDir: string;
    read: (file: string) => Buffer;
    verifierKey?: string;
    /** The deletion ledger of the meshlog the backup came from, as it is now: every erasure and disposal, also those after the backup. */
    ledgerFile?: string;
    onProgress?: (message: string) => void;
    onFinding?: (finding: Finding) => void;
  },
): Promise<RestoreResult> {
  const { read } = options;
  const store = new BackupStore(storage);
  const present = new Set(await store.tables());
  let rows = 0;
  for (const table of manifest.tables) {
    // The new directory's own migrations already wrote schema_migrations.
    if (table.table === 'schema_migrations') continue;
    if (!present.has(table.table)) throw new Error(`table ${table.table} of the backup does not exist in this meshlog's schema`);
    for (const partition of table.partitions) await store.writePartition(table.table, gunzipSync(read(partition.file)));
    const restored = await store.countRows(table.table);
    if (restored !== table.rows) throw new Error(`table ${table.table}: ${restored} rows restored, the backup has ${table.rows}`);
    options.onProgress?.(`${table.table}: ${restored} rows`);
    rows += restored;
  }

  const dataDir = resolve(options.dataDir);
  const { keys } = manifest;
  if (keys.writer_id) writeFileSync(join(dataDir, 'writer-id'), `${keys.writer_id}\n`);
  if (keys.verifier_key) writeFileSync(`${dataDir}-signing.key.pub`, `${keys.verifier_key}\n`);
  if (keys.signing_key) writeFileSync(`${dataDir}-signing.key`, read(keys.signing_key.file), { mode: 0o600, flag: 'wx' });
  if (keys.admin_token) writeFileSync(join(dataDir, 'admin-token'), read(keys.admin_token.file), { mode: 0o600, flag: 'wx' });
  const shreddedSince: string[] = [];
  if (keys.archive_key_ring.length > 0) {
    const ring = defaultKeyRingDir(dataDir);
    // The backed-up meshlog's key ring as it is now: a key shredded after the backup stays shredded.
    const ringNow = defaultKeyRingDir(manifest.source);
    mkdirSync(ring, { recursive: true, mode: 0o700 });
    for (const file of keys.archive_key_ring) {
      const name = file.file.split('/').pop()!;
      const now = join(ringNow, name);
      const tombstone = existsSync(now) ? readFileSync(now) : undefined;
      if (tombstone && (JSON.parse(tombstone.toString('utf8')) as KeyRingEntry).shredded) {
        writeFileSync(join(ring, name), tombstone, { mode: 0o600 });
        shreddedSince.push((JSON.parse(tombstone.toString('utf8')) as KeyRingEntry).key_id);
      } else {
        writeFileSync(join(ring, name), read(file.file), { mode: 0o600 });
      }
    }
  }

  const verifierKey = options.verifierKey ?? keys.verifier_key ?? undefined;
  let reapplied: ReapplySummary | undefined;
  if (options.ledgerFile) {
    reapplied = await reapplyDeletions(storage, readDeletionLedger(options.ledgerFile, verifierKey));
    // The restored meshlog carries the ledger on: a later restore of its own backups re-applies these too.
    copyFileSync(options.ledgerFile, defaultDeletionLedgerFile(dataDir));
    options.onProgress?.(
      `deletion ledger ${options.ledgerFile}: ${reapplied.erasures.length} erasure(s), ${reapplied.disposals} disposal(s) re-applied`,
    );
  }
  const verification = verifierKey
    ? await verifyIntegrity(new SealStore(storage), { verifierKey }, () => undefined, options.onFinding)
    : undefined;
  writeRestoreMarker(dataDir, {
    backup_source: manifest.source,
    backup_created_at: manifest.created_at,
    restored_at: new Date().toISOString(),
    restored_by: userInfo().username,
    rows,
    deletion_ledger: options.ledgerFile ?? 'none',
    archive_keys_shredded_since: shreddedSince,
    reapplied: reapplied ?? 'not run',
    verification: verification ? { ok: verification.ok, findings: verification.findings.length, records: verification.records } : 'not run',
  });
  return {
    tables: manifest.tables.filter((table) => table.table !== 'schema_migrations').length,
    rows,
    verifierKey,
    signingKeyRestored: keys.signing_key !== null,
    shreddedSince,
    reapplied,
    verification,
  };
}
