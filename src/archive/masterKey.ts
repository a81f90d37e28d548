import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

/** Key material straight from the environment instead of a file: 64 hex digits. */
export const masterKeyEnvironmentVariable = 'MESHLOG_ARCHIVE_MASTER_KEY';

/** Default master key file: beside the data directory, never inside it. */
export function defaultMasterKeyFile(dataDir: string): string {
  return `${resolve(dataDir)}-archive.key`;
}

/**
 * The key that wraps every archive data key (envelope encryption). Whoever
 * holds a copy of the data directory or of an archive must not hold this.
 */
export class MasterKey {
  private constructor(
    private readonly key: Buffer,
    /** Where it came from, for messages. */
    readonly source: string,
  ) {}

  /** A public fingerprint: archives and wrapped keys name the master key they need. */
  get id(): string {
    return createHash('sha256').update('meshlog archive master key\0').update(this.key).digest('hex').slice(0, 16);
  }

  /**
   * From MESHLOG_ARCHIVE_MASTER_KEY, else from the file (created owner-only
   * when `create` is set and it does not exist). A file inside the data directory is refused.
   */
  static load(options: { file: string; dataDir?: string; create: boolean; env?: NodeJS.ProcessEnv }): MasterKey {
    const fromEnv = (options.env ?? process.env)[masterKeyEnvironmentVariable];
    if (fromEnv) return new MasterKey(parseHexKey(fromEnv.trim(), masterKeyEnvironmentVariable), masterKeyEnvironmentVariable);
    const file = resolve(options.file);
    if (options.dataDir) {
      const inside = relative(resolve(options.dataDir), file);
      if (!inside.startsWith('..') && !inside.startsWith('/'))
        throw new Error(
          `the archive master key file ${file} is inside the data directory: keep it outside, where a copy of the data does not reach`,
        );
    }
    if (!existsSync(file)) {
      if (!options.create)
        throw new Error(`no archive master key: ${file} does not exist (pass --master-key FILE or set ${masterKeyEnvironmentVariable})`);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    }
    return new MasterKey(parseHexKey(readFileSync(file, 'utf8').trim(), file), file);
  }

  /** AES-256-GCM under the master key, bound to the key id: iv ‖ ciphertext ‖ tag, base64. */
  wrap(dataKey: Buffer, keyId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(`meshlog-archive-key/${keyId}`));
    return Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]).toString('base64');
  }

  unwrap(wrapped: string, keyId: string): Buffer {
    const bytes = Buffer.from(wrapped, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12)).setAAD(Buffer.from(`meshlog-archive-key/${keyId}`));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
    } catch {
      throw new Error(
        `the data key ${keyId} does not unwrap with the master key from ${this.source} (a different master key, or the key ring entry was altered)`,
      );
    }
  }
}

function parseHexKey(text: string, source: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new Error(`${source}: an archive master key is 64 hex digits (256 bits)`);
  return Buffer.from(text, 'hex');
}
