import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';

/** One AES-256 key of the encrypted disk; parts remember the key they were written with. */
export interface StorageKey {
  id: number;
  /** 64 hex digits. */
  hex: string;
}

/** Every key ever used (old parts stay readable); new parts are written with the highest id. */
export interface StorageKeySet {
  keys: StorageKey[];
  currentId: number;
  /** Where the keys came from, for messages: a file path or the environment variable. */
  source: string;
}

/** Key material straight from the environment instead of a file (same `id:hex` format). */
export const storageKeysEnvironmentVariable = 'MESHLOG_STORAGE_KEYS';

/** Default key file: beside the data directory, never inside it. */
export function defaultStorageKeyFile(dataDir: string): string {
  return `${resolve(dataDir)}-storage.keys`;
}

/**
 * `id:hex` entries, one a line (commas and spaces also separate them);
 * `#` starts a comment. Ids are unique non-negative integers.
 */
export function parseStorageKeys(text: string, source: string): StorageKeySet {
  const keys: StorageKey[] = [];
  for (const entry of text
    .replace(/#.*$/gm, '')
    .split(/[\s,]+/)
    .filter(Boolean)) {
    const match = /^(\d{1,9}):([0-9a-fA-F]{64})$/.exec(entry);
    if (!match) throw new Error(`${source}: storage key entries are <id>:<64 hex digits>, got "${entry.slice(0, 12)}…"`);
    const id = Number(match[1]);
    if (keys.some((key) => key.id === id)) throw new Error(`${source}: storage key id ${id} appears twice`);
    keys.push({ id, hex: match[2]!.toLowerCase() });
  }
  if (keys.length === 0) throw new Error(`${source}: no storage keys`);
  return { keys, currentId: Math.max(...keys.map((key) => key.id)), source };
}

/** A short public fingerprint of a key: lets a data directory remember its keys without holding them. */
export function storageKeyFingerprint(key: StorageKey): string {
  return createHash('sha256').update('meshlog storage key\0').update(key.hex).digest('hex').slice(0, 16);
}

function newKey(id: number): StorageKey {
  return { id, hex: randomBytes(32).toString('hex') };
}

function formatKeys(keys: StorageKey[]): string {
  const lines = keys.map((key) => `${key.id}:${key.hex}`);
  return `# meshlog storage encryption keys (AES-256). Never delete a line: parts written with it become unreadable.\n${lines.join('\n')}\n`;
}

/** Written whole then renamed, owner-only: a crash never leaves half a key file. */
function writeKeyFile(path: string, keys: StorageKey[]): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, formatKeys(keys), { mode: 0o600, flag: 'wx' });
  renameSync(temporary, path);
}

export function assertOutsideDataDir(keyFile: string, dataDir: string): void {
  const dir = resolve(dataDir);
  const file = resolve(keyFile);
  if (file === dir || file.startsWith(dir + sep)) {
    throw new Error(`encryption.key_file ${keyFile} is inside the data directory ${dataDir}: whoever copies the data would copy its key`);
  }
}

/**
 * The storage keys from MESHLOG_STORAGE_KEYS, else from the key file. A
 * missing key file is created with one fresh key only when `create` is set
 * (a new data directory); otherwise it is an error.
 */
export function loadStorageKeys(options: { keyFile: string; dataDir: string; create: boolean; env?: NodeJS.ProcessEnv }): StorageKeySet {
  const fromEnvironment = (options.env ?? process.env)[storageKeysEnvironmentVariable];
  if (fromEnvironment) return parseStorageKeys(fromEnvironment, storageKeysEnvironmentVariable);
  assertOutsideDataDir(options.keyFile, options.dataDir);
  if (!existsSync(options.keyFile)) {
    if (!options.create) throw new Error(`storage key file ${options.keyFile} is missing: the encrypted data cannot be read without it`);
    writeKeyFile(options.keyFile, [newKey(0)]);
  }
  return parseStorageKeys(readFileSync(options.keyFile, 'utf8'), options.keyFile);
}

/** Adds a fresh key to the key file and makes it current; the older keys stay to read older parts. */
export function rotateStorageKeyFile(keyFile: string): { id: number } {
  const set = parseStorageKeys(readFileSync(keyFile, 'utf8'), keyFile);
  const key = newKey(set.currentId + 1);
  writeKeyFile(keyFile, [...set.keys, key]);
  return { id: key.id };
}
