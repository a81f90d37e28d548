import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { MeshlogConfig } from '../config/schema.js';
import { manifestFile, payloadFile, signatureFile } from './archiveManifest.js';

export type S3Settings = NonNullable<MeshlogConfig['archive']['s3']>;

export interface UploadedArchive {
  bucket: string;
  /** Object keys of the payload, manifest and signature. */
  keys: string[];
  mode: S3Settings['object_lock_mode'];
  retain_until: string;
  /** Every object read back after upload had the SHA-256 of the file sent. */
  read_back: boolean;
  /** Whether the store reported the lock back on the payload (a store without Object Lock ignores the headers). */
  lock_reported: { mode: string; retain_until: string } | null;
}

/** Credentials from the config (or env MESHLOG_ARCHIVE_S3_*), else the SDK's own chain (AWS_* env, profiles, instance roles); never logged. */
function client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.force_path_style,
    credentials:
      settings.access_key_id && settings.secret_access_key
        ? { accessKeyId: settings.access_key_id, secretAccessKey: settings.secret_access_key }
        : undefined,
    // Content-MD5 goes with every put (Object Lock requires an integrity header); no aws-chunked trailers, which not every S3-compatible store takes.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Puts an archive directory's three files under `<prefix><tenant>/<archive id>/`
 * with Object Lock (WORM until `retainUntil`, compliance mode unless configured
 * otherwise), then reads each back and compares its SHA-256.
 */
export async function uploadArchive(
  settings: S3Settings,
  dir: string,
  archive: { tenant: string; archiveId: string },
  retainUntil: Date,
): Promise<UploadedArchive> {
  const s3 = client(settings);
  try {
    const keys: string[] = [];
    for (const file of [payloadFile, manifestFile, signatureFile]) {
      const body = readFileSync(join(dir, file));
      const key = `${settings.prefix}${archive.tenant}/${archive.archiveId}/${file}`;
      await s3.send(
        new PutObjectCommand({
          Bucket: settings.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentMD5: createHash('md5').update(body).digest('base64'),
          ObjectLockMode: settings.object_lock_mode,
          ObjectLockRetainUntilDate: retainUntil,
        }),
      );
      const stored = await s3.send(new GetObjectCommand({ Bucket: settings.bucket, Key: key }));
      const readBack = await stored.Body!.transformToByteArray();
      if (sha256(readBack) !== sha256(body)) throw new Error(`s3://${settings.bucket}/${key} read back differs from what was uploaded`);
      keys.push(key);
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: keys[0] }));
    return {
      bucket: settings.bucket,
      keys,
      mode: settings.object_lock_mode,
      retain_until: retainUntil.toISOString(),
      read_back: true,
      lock_reported:
        head.ObjectLockMode && head.ObjectLockRetainUntilDate
          ? { mode: head.ObjectLockMode, retain_until: head.ObjectLockRetainUntilDate.toISOString() }
          : null,
    };
  } finally {
    s3.destroy();
  }
}
