import { loadConfig } from '../config/loadConfig.js';
import { encryptDataDir } from '../storage/engine/encryptDataDir.js';
import { withProgress } from './progress.js';

export interface EncryptStorageFlags {
  config?: string;
  dataDir?: string;
  keyFile?: string;
}

/** `meshlog storage encrypt`: a stopped server's plaintext data directory, moved onto the encrypted disk. */
export async function encryptStorageCommand(flags: EncryptStorageFlags): Promise<void> {
  try {
    const config = loadConfig({ file: flags.config, flags: { data_dir: flags.dataDir } });
    const done = await withProgress(
      `storage encrypt ${config.data_dir}`,
      async (shown) => {
        shown.update('moving every table onto the encrypted disk');
        return encryptDataDir({ dataDir: config.data_dir, keyFile: flags.keyFile ?? config.encryption.key_file });
      },
      (result) => `${result.tables} tables, ${result.partitions} partitions encrypted with key ${result.keyId}`,
    );
    process.stdout.write(
      `encrypted ${config.data_dir}: ${done.tables} tables, ${done.partitions} partitions moved onto the encrypted disk with key ${done.keyId} from ${done.keySource}; start meshlog with encryption enabled\n`,
    );
  } catch (error) {
    process.stderr.write(`meshlog storage encrypt: ${(error as Error).message}\n`);
    process.exit(2);
  }
}
