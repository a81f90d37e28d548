import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection, type ChdbConnection } from 'chdb/connection';
import {
  checkKeysCoverState,
  readEncryptionState,
  startEncryptedEngine,
  writeEncryptionState,
  type EncryptionState,
} from './encryptedDisk.js';
import type { InsertFormat } from './insertFormat.js';
import { defaultStorageKeyFile, loadStorageKeys, storageKeyFingerprint, type StorageKeySet } from './storageKeys.js';

export interface ConnectionTarget {
  /** Embedded chDB keeps its files under <dataDir>/clickhouse. */
  dataDir: string;
  /** A ClickHouse server instead of embedded chDB. */
  clickhouseUrl?: string;
  /** The ClickHouse cluster of that server the schema lives on (see schemaDdl.ts). */
  clickhouseCluster?: string;
  /**
   * Encryption at rest of embedded chDB. Omitted: whatever the data directory
   * was created with (readers such as `meshlog verify --data-dir`); a new
   * directory is encrypted.
   */
  encryption?: { enabled: boolean; keyFile?: string };
}

/** How the embedded engine's data is encrypted, for the server's audit record. */
export interface EncryptionAtRest {
  enabled: boolean;
  currentKeyId?: number;
  /** Key ids this start used for the first time (a rotation since the last start). */
  newKeyIds: number[];
}

/**
 * Embedded chDB's raw insert: the bytes go to the engine's parallel parser as
 * they are, with no SQL string built around them (as the client's exec does)
 * and no copy. Resolves once the insert is committed, like the client's.
 */
export type RawInsert = (table: string, body: Buffer, settings: Record<string, number | string>, format: InsertFormat) => Promise<void>;

function rawInsertOf(connection: ChdbConnection): RawInsert {
  return async (table, body, settings, format) => {
    const columns = format.name === 'JSONCompactEachRow' ? [...format.columns] : undefined;
    await connection.chdb.rawInsert({ table, values: body, format: format.name, columns, settings });
  };
}

/** Throws unless the key file (or MESHLOG_STORAGE_KEYS) still holds every key that wrote the directory. */
export function checkStorageKeys(target: ConnectionTarget): StorageKeySet {
  const path = resolve(join(target.dataDir, 'clickhouse'));
  const state = readEncryptionState(path);
  if (!state?.encrypted) throw new Error(`${target.dataDir} is not encrypted at rest`);
  const keys = loadStorageKeys({
    keyFile: target.encryption?.keyFile ?? defaultStorageKeyFile(target.dataDir),
    dataDir: target.dataDir,
    create: false,
  });
  checkKeysCoverState(keys, state);
  return keys;
}

/**
 * One @clickhouse/client for both deployments: embedded chDB through
 * chdb/connection, or a ClickHouse server over HTTP. Everything above this
 * file speaks to the same client API.
 */
export function connect(target: ConnectionTarget): {
  client: ClickHouseClient;
  embedded: boolean;
  rawInsert?: RawInsert;
  encryption?: EncryptionAtRest;
} {
  if (target.clickhouseUrl) {
    return {
      client: createClient({
        url: target.clickhouseUrl,
        request_timeout: 120_000,
        compression: { request: true },
        // Inserts into a cluster's Distributed tables reach their shard before they are acknowledged (and their
        // deduplication token with them), instead of waiting in a queue on the server that took them.
        clickhouse_settings: target.clickhouseCluster === undefined ? {} : { insert_distributed_sync: 1 },
      }),
      embedded: false,
    };
  }
  const path = resolve(join(target.dataDir, 'clickhouse'));
  mkdirSync(path, { recursive: true });
  // chdb builds against its own copy of @clickhouse/client-common: the same
  // Connection interface under a second type identity, hence the cast.
  const asClientConnection = (connection: ChdbConnection) =>
    connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
  const openConnection = () => createChdbConnection({ path });

  const state = readEncryptionState(path);
  const encrypted = target.encryption?.enabled ?? state?.encrypted ?? true;
  if (state && state.encrypted !== encrypted) {
    throw new Error(
      state.encrypted
        ? `${target.dataDir} is encrypted at rest; it cannot be opened with encryption.enabled: false`
        : `${target.dataDir} holds unencrypted data from before encryption at rest; encrypt it with \`meshlog storage encrypt --data-dir ${target.dataDir}\` (server stopped), or set encryption.enabled: false to keep using it as it is`,
    );
  }
  if (!encrypted) {
    if (!state) writeEncryptionState(path, { encrypted: false, keys: {} });
    const connection = openConnection();
    return {
      client: createClient({ connection: asClientConnection(connection) }),
      embedded: true,
      rawInsert: rawInsertOf(connection),
      encryption: { enabled: false, newKeyIds: [] },
    };
  }

  const keys = loadStorageKeys({
    keyFile: target.encryption?.keyFile ?? defaultStorageKeyFile(target.dataDir),
    dataDir: target.dataDir,
    create: state === undefined,
  });
  const known: EncryptionState = state ?? { encrypted: true, keys: {} };
  checkKeysCoverState(keys, known);
  const connection = startEncryptedEngine(path, keys, openConnection);
  const newKeyIds = keys.keys.filter((key) => !(String(key.id) in known.keys)).map((key) => key.id);
  writeEncryptionState(path, {
    encrypted: true,
    keys: Object.fromEntries(keys.keys.map((key) => [String(key.id), storageKeyFingerprint(key)])),
    current_key_id: keys.currentId,
  });
  return {
    client: createClient({ connection: asClientConnection(connection) }),
    embedded: true,
    rawInsert: rawInsertOf(connection),
    encryption: { enabled: true, currentKeyId: keys.currentId, newKeyIds },
  };
}
