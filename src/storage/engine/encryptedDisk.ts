import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'chdb';
import { storageKeyFingerprint, type StorageKeySet } from './storageKeys.js';

/**
 * What a chDB data directory remembers about its encryption, beside the
 * engine's files: whether it is encrypted, and the fingerprints (never the
 * keys) of every key that wrote to it. Opening it with a different choice or
 * without one of those keys would make ClickHouse detach those parts as
 * broken, so it is refused up front instead.
 */
export interface EncryptionState {
  encrypted: boolean;
  /** Key id → fingerprint. */
  keys: Record<string, string>;
  current_key_id?: number;
}

const stateFileName = 'meshlog-encryption.json';

export function readEncryptionState(enginePath: string): EncryptionState | undefined {
  const file = join(enginePath, stateFileName);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as EncryptionState;
  // A directory the engine already wrote, from before encryption existed, is plaintext.
  if (existsSync(join(enginePath, 'metadata'))) return { encrypted: false, keys: {} };
  return undefined;
}

export function writeEncryptionState(enginePath: string, state: EncryptionState): void {
  writeFileSync(join(enginePath, stateFileName), `${JSON.stringify(state, null, 2)}\n`);
}

/** Every key the directory was written with must still be in the set, unchanged. */
export function checkKeysCoverState(keys: StorageKeySet, state: EncryptionState): void {
  for (const [id, fingerprint] of Object.entries(state.keys)) {
    const key = keys.keys.find((candidate) => candidate.id === Number(id));
    if (!key) throw new Error(`storage key id ${id} wrote data in this directory but is missing from ${keys.source}`);
    if (storageKeyFingerprint(key) !== fingerprint)
      throw new Error(`storage key id ${id} in ${keys.source} is not the key that wrote this directory`);
  }
}

/**
 * Tables of a directory that began plaintext (see encryptPlainTables.ts):
 * new parts go to the encrypted volume first; the plain `default` volume
 * is only there because ClickHouse lets a table change policy only to one
 * that keeps its old disks. It stays empty (move_factor 0: nothing moves back).
 */
export const migratedPolicy = 'meshlog_migrated';

const keyVariable = (id: number) => `MESHLOG_ENGINE_STORAGE_KEY_${id}`;

function xmlText(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * A ClickHouse config whose `default` storage policy is an AES-256-CTR
 * encrypted disk, so every table (ours and any added later) lands on it with
 * no per-table setting. The keys are named by environment variable
 * (`from_env`), so this file holds no secret.
 */
function engineConfig(enginePath: string, keys: StorageKeySet, migrating: boolean): string {
  const keyLines = keys.keys.map((key) => `        <key_hex id="${key.id}" from_env="${keyVariable(key.id)}"/>`).join('\n');
  // The encrypted disk's own path sits one level below its backing disk's
  // root, so the backing disk never mistakes encrypted parts for its own.
  return `<clickhouse>
  <storage_configuration>
    <disks>
      <meshlog_encrypted_backing>
        <type>local</type>
        <path>${xmlText(join(enginePath, 'encrypted'))}/</path>
      </meshlog_encrypted_backing>
      <meshlog_encrypted>
        <type>encrypted</type>
        <disk>meshlog_encrypted_backing</disk>
        <path>data/</path>
        <algorithm>AES_256_CTR</algorithm>
${keyLines}
        <current_key_id>${keys.currentId}</current_key_id>
      </meshlog_encrypted>
    </disks>
    <policies>
${migrating ? '' : '      <default><volumes><main><disk>meshlog_encrypted</disk></main></volumes></default>\n'}      <${migratedPolicy}>
        <volumes>
          <encrypted><disk>meshlog_encrypted</disk></encrypted>
          <default><disk>default</disk></default>
        </volumes>
        <move_factor>0</move_factor>
      </${migratedPolicy}>
    </policies>
  </storage_configuration>
</clickhouse>
`;
}

/**
 * Starts the embedded engine on `enginePath` with the encrypted disk. libchdb
 * runs one engine per data directory, configured by the first connection
 * to it: this one, opened with the config file, then closed once the
 * caller's own connection (`openConnection`) shares the running engine. The
 * keys sit in the environment only while the engine reads its config.
 * `migrating`: the `default` policy stays the plain disk, so a plaintext
 * directory's tables still see their parts while they are moved.
 */
export function startEncryptedEngine<T>(
  enginePath: string,
  keys: StorageKeySet,
  openConnection: () => T,
  options: { migrating?: boolean } = {},
): T {
  const configFile = join(enginePath, 'meshlog-engine.xml');
  writeFileSync(configFile, engineConfig(enginePath, keys, options.migrating ?? false));
  for (const key of keys.keys) process.env[keyVariable(key.id)] = key.hex;
  let engine: Session | undefined;
  try {
    engine = new Session(enginePath, { connectionArgs: [`--config-file=${configFile}`] });
    return openConnection();
  } finally {
    for (const key of keys.keys) delete process.env[keyVariable(key.id)];
    engine?.close();
  }
}

/**
 * Temporary data (external sort, aggregation and join spills) never leaves
 * memory on an encrypted engine. chDB writes it as plain (LZ4) files under
 * <path>/tmp/: it ignores `tmp_path` and `tmp_policy` from the config file,
 * so the encrypted disk cannot hold it, and the encryption codec that
 * `temporary_files_codec` could name needs `<encryption_codecs>`, which chDB
 * does not load ("Empty params in CompressionCodecEncrypted configuration").
 * So spilling under memory pressure is off, and a 1-byte cap refuses a query
 * that would spill before it writes anything: such a query fails for memory
 * instead of leaving log text on disk in the clear.
 */
export const noSpillStatement = `SET
  max_bytes_ratio_before_external_sort = 0, max_bytes_before_external_sort = 0,
  max_bytes_ratio_before_external_group_by = 0, max_bytes_before_external_group_by = 0,
  max_bytes_ratio_before_external_join = 0, max_bytes_before_external_join = 0,
  max_temporary_data_on_disk_size_for_query = 1, max_temporary_data_on_disk_size_for_user = 1`;
