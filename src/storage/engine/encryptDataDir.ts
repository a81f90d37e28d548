import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { readEncryptionState, startEncryptedEngine, writeEncryptionState } from './encryptedDisk.js';
import { encryptPlainTables } from './encryptPlainTables.js';
import { defaultStorageKeyFile, loadStorageKeys, storageKeyFingerprint } from './storageKeys.js';

const pending = 'encrypted-at-rest.json';
const recorded = 'encrypted-at-rest.recorded.json';

export interface EncryptedDataDir {
  tables: number;
  partitions: number;
  keyId: number;
  keySource: string;
  at: string;
}

/**
 * `meshlog storage encrypt`, offline: moves every table of a plaintext data
 * directory onto the encrypted disk, then records the directory as
 * encrypted with its key's fingerprint. The first server started on it puts
 * the migration into the audit trail (the note it leaves, as a restore does).
 */
export async function encryptDataDir(options: { dataDir: string; keyFile?: string }): Promise<EncryptedDataDir> {
  const path = resolve(join(options.dataDir, 'clickhouse'));
  const state = readEncryptionState(path);
  if (!state) throw new Error(`${options.dataDir} holds no meshlog data`);
  if (state.encrypted) throw new Error(`${options.dataDir} is already encrypted at rest`);
  const keys = loadStorageKeys({
    keyFile: options.keyFile ?? defaultStorageKeyFile(options.dataDir),
    dataDir: options.dataDir,
    create: true,
  });
  const connection = startEncryptedEngine(path, keys, () => createChdbConnection({ path }), { migrating: true });
  const client = createClient({ connection: connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'] });
  let moved: { tables: number; partitions: number };
  try {
    moved = await encryptPlainTables(client);
  } finally {
    await client.close();
  }
  writeEncryptionState(path, {
    encrypted: true,
    keys: Object.fromEntries(keys.keys.map((key) => [String(key.id), storageKeyFingerprint(key)])),
    current_key_id: keys.currentId,
  });
  const done: EncryptedDataDir = { ...moved, keyId: keys.currentId, keySource: keys.source, at: new Date().toISOString() };
  writeFileSync(join(options.dataDir, pending), `${JSON.stringify(done, null, 2)}\n`, { mode: 0o600 });
  return done;
}

/** The migration not yet in the audit trail; `recordedNow` marks it done once its audit record is committed. */
export function pendingEncryption(dataDir: string): { detail: EncryptedDataDir; recordedNow: () => void } | undefined {
  const file = join(dataDir, pending);
  if (!existsSync(file)) return undefined;
  return {
    detail: JSON.parse(readFileSync(file, 'utf8')) as EncryptedDataDir,
    recordedNow: () => renameSync(file, join(dataDir, recorded)),
  };
}
