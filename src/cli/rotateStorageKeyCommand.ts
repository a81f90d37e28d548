import { existsSync } from 'node:fs';
import { loadConfig } from '../config/loadConfig.js';
import { callServer } from './serverClient.js';
import {
  assertOutsideDataDir,
  defaultStorageKeyFile,
  rotateStorageKeyFile,
  storageKeysEnvironmentVariable,
} from '../storage/engine/storageKeys.js';

export interface RotateStorageKeyFlags {
  server?: string;
  token?: string;
  config?: string;
  dataDir?: string;
  keyFile?: string;
}

/**
 * Adds a new storage key to the key file and makes it current. With
 * --server, the running server does it and writes new parts with the key at
 * once; offline, the server takes it up at its next start or on SIGHUP.
 * Either way the rotation is in the audit trail; parts written before stay
 * readable with the old keys.
 */
export async function rotateStorageKeyCommand(flags: RotateStorageKeyFlags): Promise<void> {
  try {
    if (flags.server) {
      const { key_id } = await callServer<{ key_id: number }>(
        { server: flags.server, token: flags.token },
        'POST',
        '/api/v1/admin/storage/rotate-key',
      );
      process.stdout.write(`storage key ${key_id} added; the server writes new parts with it now (older parts keep their keys)\n`);
      return;
    }
    const config = loadConfig({ file: flags.config, flags: { data_dir: flags.dataDir } });
    if (process.env[storageKeysEnvironmentVariable] && !flags.keyFile) {
      throw new Error(
        `the storage keys come from ${storageKeysEnvironmentVariable}: append a new <id>:<64 hex> entry there (ids only grow), or pass --key-file`,
      );
    }
    const keyFile = flags.keyFile ?? config.encryption.key_file ?? defaultStorageKeyFile(config.data_dir);
    assertOutsideDataDir(keyFile, config.data_dir);
    if (!existsSync(keyFile)) throw new Error(`${keyFile} does not exist: meshlog creates it on its first start`);
    const { id } = rotateStorageKeyFile(keyFile);
    process.stdout.write(
      `storage key ${id} added to ${keyFile}; meshlog writes with it from its next start or SIGHUP (older parts keep their keys)\n`,
    );
  } catch (error) {
    process.stderr.write(`meshlog keys rotate-storage: ${(error as Error).message}\n`);
    process.exit(2);
  }
}
