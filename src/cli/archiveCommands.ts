import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { payloadFile, manifestFile, signatureFile } from '../archive/archiveManifest.js';
import { verifyArchive, readArchive, type ArchiveVerifyReport } from '../archive/archiveVerify.js';
import { defaultKeyRingDir, KeyRing, type KeyRingEntry } from '../archive/keyRing.js';
import { defaultMasterKeyFile, MasterKey, masterKeyEnvironmentVariable } from '../archive/masterKey.js';
import type { UploadedArchive } from '../archive/s3Upload.js';
import { callServer, serverError, type ServerFlags } from './serverClient.js';
import { timeFlag } from './verifyCommand.js';
import { progress, withProgress } from './progress.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const nsToIso = (ns: bigint) =>
  `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;

/** `meshlog archive export`: the server encrypts and signs; this writes the payload, manifest.json and manifest.sig into DIR. */
export async function archiveExportCommand(flags: ServerFlags & { tenant: string; from: string; to?: string; out: string }): Promise<void> {
  if (existsSync(flags.out) && readdirSync(flags.out).length > 0)
    throw new Error(`${flags.out} is not empty: an archive gets a directory of its own`);
  mkdirSync(flags.out, { recursive: true, mode: 0o700 });
  const partial = join(flags.out, `${payloadFile}.partial`);
  const token = flags.token ?? process.env.MESHLOG_TOKEN;
  const response = await fetch(`${flags.server.replace(/\/$/, '')}/api/v1/admin/archives/export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({
      tenant: flags.tenant,
      from: nsToIso(timeFlag(flags.from, 'from')!),
      to: nsToIso(timeFlag(flags.to ?? '0s', 'to')!),
    }),
  });
  if (!response.ok || !response.body) throw serverError(response.status, await response.text(), token);
  const payload = createWriteStream(partial, { mode: 0o600 });
  let done: { manifest: string; signature: string } | undefined;
  const shown = progress(`archive export ${flags.tenant}`);
  let received = 0;
  try {
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffered.slice(0, newline)) as {
          type: string;
          data?: string;
          manifest?: string;
          signature?: string;
          error?: string;
        };
        buffered = buffered.slice(newline + 1);
        if (message.type === 'payload') {
          const bytes = Buffer.from(message.data!, 'base64');
          received += bytes.length;
          shown.update(`${(received / 1048576).toFixed(1)} MiB encrypted payload received`);
          if (!payload.write(bytes)) await new Promise<void>((resolve) => payload.once('drain', () => resolve()));
        } else if (message.type === 'manifest') done = { manifest: message.manifest!, signature: message.signature! };
        else if (message.type === 'error') throw new Error(`the export failed on the server: ${message.error}`);
      }
    }
    await new Promise<void>((resolve, reject) => payload.end((error?: Error | null) => (error ? reject(error) : resolve())));
    if (!done) throw new Error('the server ended the export without a manifest');
  } catch (error) {
    shown.fail();
    payload.destroy();
    rmSync(partial, { force: true });
    throw error;
  }
  renameSync(partial, join(flags.out, payloadFile));
  writeFileSync(join(flags.out, manifestFile), done.manifest);
  writeFileSync(join(flags.out, signatureFile), done.signature);
  const { manifest } = readArchive(flags.out);
  shown.done(`${manifest.payload.records} records, ${(received / 1048576).toFixed(1)} MiB in ${flags.out}`);
  print(
    `archive ${manifest.archive_id}: ${manifest.payload.records} records of ${manifest.tenant} (${manifest.from} .. ${manifest.to}) from ${manifest.chains.length} chain(s), encrypted with data key ${manifest.encryption.key_id}, in ${flags.out}`,
  );
}

export async function archiveUploadCommand(flags: ServerFlags & { tenant: string; from: string; to?: string }): Promise<void> {
  const { archive_id, records, upload } = await callServer<{ archive_id: string; records: number; upload: UploadedArchive }>(
    flags,
    'POST',
    '/api/v1/admin/archives/upload',
    {
      tenant: flags.tenant,
      from: nsToIso(timeFlag(flags.from, 'from')!),
      to: nsToIso(timeFlag(flags.to ?? '0s', 'to')!),
    },
  );
  print(
    `archive ${archive_id}: ${records} records of ${flags.tenant} uploaded to s3://${upload.bucket}/${upload.keys[0].replace(/[^/]*$/, '')} and read back intact`,
  );
  print(
    `object lock: ${upload.mode} until ${upload.retain_until} requested; ` +
      (upload.lock_reported
        ? `the store reports ${upload.lock_reported.mode} until ${upload.lock_reported.retain_until}`
        : 'the store did NOT report a lock back (is Object Lock enabled on the bucket?)'),
  );
}

/** A verifier key, or a file of one key a line (a cluster's published key set: GET /api/v1/integrity/public-keys). */
function verifierKeysFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (existsSync(value)) {
    const keys = readFileSync(value, 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    if (keys.length === 0) throw new Error(`--public-key: ${value} holds no verifier key`);
    return keys;
  }
  if (value.includes('+')) return [value];
  throw new Error(`--public-key: ${value} is neither a file nor a verifier key`);
}

/** `meshlog archive verify DIR`: offline, no server. Exit 0 verified, 1 on findings, 2 when it could not decrypt or run. */
export async function archiveVerifyCommand(
  dir: string,
  flags: { publicKey?: string; masterKey?: string; keyRing?: string; dataDir?: string; decrypt: boolean; output: string },
): Promise<void> {
  const keyRingDir = flags.keyRing ?? (flags.dataDir ? defaultKeyRingDir(flags.dataDir) : undefined);
  const masterFile = flags.masterKey ?? (flags.dataDir ? defaultMasterKeyFile(flags.dataDir) : undefined);
  const dataKey = () => {
    if (!keyRingDir)
      throw new Error('no data key: pass --key-ring DIR (or --data-dir of the server), or --no-decrypt to check signatures and seals only');
    if (!masterFile && !process.env[masterKeyEnvironmentVariable])
      throw new Error(`no master key: pass --master-key FILE or set ${masterKeyEnvironmentVariable}`);
    const ring = new KeyRing(keyRingDir, () => MasterKey.load({ file: masterFile ?? '', create: false }));
    return ring.open(readArchive(dir).manifest.encryption.key_id);
  };
  const report = await withProgress(
    `archive verify ${dir}`,
    async (shown) => {
      shown.update(flags.decrypt ? 'signature, seals, proofs and every record' : 'signature, seals and proofs');
      return verifyArchive(dir, { verifierKeys: verifierKeysFlag(flags.publicKey), dataKey: flags.decrypt ? dataKey : undefined });
    },
    (done) => `${done.ok ? 'OK' : 'NOT OK'}: ${done.batches} batches${done.decrypted ? `, ${done.records} records` : ''}`,
  );
  printReport(report, flags.output);
  if (!flags.publicKey && flags.output === 'text')
    print(
      "note: the verifier key was taken from the archive itself; pin the server's key with --public-key to rule out a re-signed archive",
    );
  process.exitCode = report.findings.length > 0 ? 1 : report.decryptError ? 2 : 0;
}

function printReport(report: ArchiveVerifyReport, output: string): void {
  if (output === 'json') return print(JSON.stringify(report, null, 2));
  for (const finding of report.findings) {
    print(
      `${finding.kind.toUpperCase()}${finding.chain ? ` chain=${finding.chain}` : ''}${finding.batchSeq !== undefined ? ` batch=${finding.batchSeq}` : ''}` +
        `${finding.positions?.length ? ` positions=${finding.positions.join(',')}` : ''}: ${finding.detail}`,
    );
  }
  if (report.decryptError) print(`CANNOT DECRYPT: ${report.decryptError}`);
  const explained = Object.entries(report.explained)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  print(
    `${report.ok ? 'OK' : report.findings.length > 0 ? `FAILED: ${report.findings.length} finding(s)` : 'INCOMPLETE'} — archive ${report.archiveId} of ${report.tenant}, ` +
      `${report.chains} chain(s), ${report.batches} batches, ${report.decrypted ? `${report.records} records checked` : 'records not checked'}, signed by ${report.verifierKey.split('+')[0]}` +
      (explained ? ` (${explained})` : ''),
  );
}

type KeyView = Omit<KeyRingEntry, 'wrapped'>;

export async function archiveShredCommand(flags: ServerFlags & { tenant: string; period: string; reason: string }): Promise<void> {
  const { key } = await callServer<{ key: KeyView }>(flags, 'POST', '/api/v1/admin/archive-keys/shred', {
    tenant: flags.tenant,
    period: flags.period,
    reason: flags.reason,
  });
  print(
    `data key ${key.key_id} destroyed at ${key.shredded!.at} by ${key.shredded!.by}: archives encrypted with it can no longer be decrypted`,
  );
}

export async function archiveKeysCommand(flags: ServerFlags & { output: string }): Promise<void> {
  const { keys } = await callServer<{ keys: KeyView[] }>(flags, 'GET', '/api/v1/admin/archive-keys');
  if (flags.output === 'json') return print(JSON.stringify(keys, null, 2));
  print(['KEY', 'CREATED', 'CREATED BY', 'STATE'].join('\t'));
  for (const key of keys) {
    print(
      [
        key.key_id,
        key.created_at,
        key.created_by,
        key.shredded ? `shredded ${key.shredded.at} by ${key.shredded.by}: ${key.shredded.reason}` : 'active',
      ].join('\t'),
    );
  }
}
