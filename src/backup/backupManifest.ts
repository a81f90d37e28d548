import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const backupFormat = 'meshlog-backup/v1';
export const backupManifestFile = 'backup.json';

export interface BackupFile {
  /** Relative to the backup directory. */
  file: string;
  sha256: string;
}

export interface BackedUpTable {
  table: string;
  /** Rows as the table means them (after FINAL for engines that collapse versions): what a restore must arrive at. */
  rows: number;
  /** One gzip TabSeparatedWithNames file per partition. */
  partitions: (BackupFile & { partition: string; rows: number })[];
}

export interface BackupManifest {
  format: typeof backupFormat;
  created_at: string;
  database: string;
  source: string;
  /** Taken from a running server: each chain's last whole batch and the instant (null: copied stopped, whole). */
  cut?: { at: string; chains: Record<string, number> } | null;
  /** Absent only for a backup taken with --no-encrypt: the backup key, wrapped under the archive master key. */
  encryption: { algorithm: 'AES-256-GCM'; key_id: string; master_key_id: string; wrapped_key: string } | null;
  /** Schema migrations the data was written under. */
  migrations: number[];
  tables: BackedUpTable[];
  /** Key metadata: what verifies and continues the chains; secret keys only when asked for. */
  keys: {
    /** C2SP verifier key of the checkpoint signer (`<data_dir>-signing.key.pub`). */
    verifier_key: string | null;
    /** The writer id, so a restored server extends its chains instead of starting new ones. */
    writer_id: string | null;
    /** Wrapped archive data keys and shredding tombstones (useless without the archive master key, which is never copied). */
    archive_key_ring: BackupFile[];
    /** Present only with --include-secrets. */
    signing_key: BackupFile | null;
    admin_token: BackupFile | null;
  };
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Each file sealed on its own: iv ‖ AES-256-GCM ciphertext ‖ tag, bound to its path in the backup. */
export function encryptFile(key: Buffer, file: string, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(file));
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

export function decryptFile(key: Buffer, file: string, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12)).setAAD(Buffer.from(file));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  } catch {
    throw new Error(`the backup file ${file} does not decrypt (altered, or another backup's file)`);
  }
}
