import { createDecipheriv, createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { batchHash, hashBatchContent, lineFingerprint } from '../integrity/batchSeal.js';
import { chainOrigin } from '../integrity/chainSealer.js';
import { leafHash, rootFromInclusionProof } from '../integrity/merkle.js';
import { openCheckpoint } from '../integrity/signedNote.js';
import { sealedLineOfRecord, sealedLinePlace } from '../storage/logs/sealedLogLine.js';
import {
  archiveFormat,
  checkManifestSignature,
  manifestFile,
  signatureFile,
  type ArchivedBatch,
  type ArchiveManifest,
} from './archiveManifest.js';

export type ArchiveFindingKind =
  | 'manifest_signature_invalid'
  | 'payload_altered'
  | 'payload_undecryptable'
  | 'checkpoint_forged'
  | 'batch_altered'
  | 'batch_not_in_checkpoint'
  | 'chain_broken'
  | 'record_modified'
  | 'record_missing'
  | 'record_inserted';

export interface ArchiveFinding {
  kind: ArchiveFindingKind;
  detail: string;
  chain?: string;
  batchSeq?: number;
  positions?: number[];
}

export interface ArchiveVerifyReport {
  ok: boolean;
  archiveId: string;
  tenant: string;
  from: string;
  to: string;
  verifierKey: string;
  chains: number;
  batches: number;
  /** Records read back from the decrypted payload (0 when not decrypted). */
  records: number;
  decrypted: boolean;
  /** Why the payload could not be decrypted at all (no key, a crypto-shredded key). */
  decryptError?: string;
  /** Absences with a recorded reason, e.g. `records disposed`, `records erased by request er-…`. */
  explained: Record<string, number>;
  findings: ArchiveFinding[];
}

/** Reads an archive's manifest and signature note; throws when they are not there or not an archive. */
export function readArchive(dir: string): { manifest: ArchiveManifest; manifestText: string; signature: string } {
  const path = join(dir, manifestFile);
  if (!existsSync(path)) throw new Error(`${dir} is not a meshlog archive: no ${manifestFile}`);
  const manifestText = readFileSync(path, 'utf8');
  let manifest: ArchiveManifest;
  try {
    manifest = JSON.parse(manifestText) as ArchiveManifest;
  } catch (error) {
    throw new Error(`${path} is not JSON: ${(error as Error).message}`);
  }
  if (manifest.format !== archiveFormat) throw new Error(`${path}: format ${String(manifest.format)} is not ${archiveFormat}`);
  const signaturePath = join(dir, signatureFile);
  return { manifest, manifestText, signature: existsSync(signaturePath) ? readFileSync(signaturePath, 'utf8') : '' };
}

/** The archived lines, decrypted and decompressed; throws at the end when the ciphertext is not authentic. */
export async function* archiveLines(dir: string, manifest: ArchiveManifest, dataKey: Buffer): AsyncGenerator<string> {
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(manifest.encryption.iv, 'base64')).setAAD(
    Buffer.from(manifest.encryption.aad),
  );
  decipher.setAuthTag(Buffer.from(manifest.encryption.tag, 'base64'));
  const source = createReadStream(join(dir, manifest.payload.file));
  const gunzip = createGunzip();
  const fail = (error: Error) => gunzip.destroy(error);
  source.on('error', fail).pipe(decipher).on('error', fail).pipe(gunzip);
  for await (const line of createInterface({ input: gunzip, crlfDelay: Infinity })) yield `${line}\n`;
}

/**
 * Checks an archive offline: the manifest's signature, the payload's hash,
 * every checkpoint's signature, every batch seal and its inclusion in its
 * signed checkpoint; with the data key, every archived record against its
 * batch seal. Needs no server and no data directory.
 */
export async function verifyArchive(
  dir: string,
  options: { verifierKeys?: string[]; dataKey?: () => Buffer },
): Promise<ArchiveVerifyReport> {
  const { manifest, manifestText, signature } = readArchive(dir);
  // A cluster's published key set: the archive may be signed by any node's key in it, by no other.
  const accepted = options.verifierKeys ?? [manifest.verifier_key];
  const verifierKey = accepted.includes(manifest.verifier_key) ? manifest.verifier_key : accepted[0]!;
  const report: ArchiveVerifyReport = {
    ok: false,
    archiveId: manifest.archive_id,
    tenant: manifest.tenant,
    from: manifest.from,
    to: manifest.to,
    verifierKey,
    chains: manifest.chains.length,
    batches: 0,
    records: 0,
    decrypted: false,
    explained: {},
    findings: [],
  };
  const found = (finding: ArchiveFinding) => report.findings.push(finding);

  try {
    if (!accepted.includes(manifest.verifier_key))
      throw new Error(`signed by ${manifest.verifier_key}, which is none of the ${accepted.length} accepted keys`);
    checkManifestSignature(manifestText, manifest, signature, verifierKey);
  } catch (error) {
    found({ kind: 'manifest_signature_invalid', detail: `manifest.json: ${(error as Error).message}` });
  }
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(join(dir, manifest.payload.file))) digest.update(chunk as Buffer);
  if (digest.digest('hex') !== manifest.payload.sha256)
    found({ kind: 'payload_altered', detail: `${manifest.payload.file} does not have the SHA-256 the manifest names` });

  const batchesByKey = new Map<string, ArchivedBatch>();
  for (const chain of manifest.chains) {
    let root: Buffer | undefined;
    try {
      const opened = openByAny(chain.checkpoint.note, [verifierKey, ...accepted.filter((key) => key !== verifierKey)]);
      if (opened.origin !== chainOrigin(chain.chain) || opened.treeSize !== chain.checkpoint.tree_size)
        throw new Error(`signed for ${opened.origin} at size ${opened.treeSize}`);
      root = opened.rootHash;
    } catch (error) {
      found({
        kind: 'checkpoint_forged',
        chain: chain.chain,
        detail: `checkpoint at tree size ${chain.checkpoint.tree_size}: ${(error as Error).message}`,
      });
    }
    let previous: ArchivedBatch | undefined;
    for (const batch of chain.batches) {
      report.batches++;
      batchesByKey.set(`${chain.chain}#${batch.batch_seq}`, batch);
      const where = { chain: chain.chain, batchSeq: batch.batch_seq };
      const recomputed = batchHash({
        chainId: chain.chain,
        batchSeq: batch.batch_seq,
        recordCount: batch.record_count,
        contentHash: batch.content_hash,
        prevHash: batch.prev_hash,
      });
      if (recomputed !== batch.batch_hash)
        found({ kind: 'batch_altered', ...where, detail: `the seal of batch ${batch.batch_seq} does not hash to its batch hash` });
      const proven = rootFromInclusionProof(
        leafHash(Buffer.from(batch.batch_hash, 'hex')),
        batch.batch_seq - 1,
        chain.checkpoint.tree_size,
        batch.inclusion_proof.map((node) => Buffer.from(node, 'hex')),
      );
      if (root && !(proven && proven.equals(root)))
        found({
          kind: 'batch_not_in_checkpoint',
          ...where,
          detail: `batch ${batch.batch_seq} is not included in the signed checkpoint at tree size ${chain.checkpoint.tree_size}`,
        });
      if (previous && batch.batch_seq === previous.batch_seq + 1 && batch.prev_hash !== previous.batch_hash) {
        found({ kind: 'chain_broken', ...where, detail: `batch ${batch.batch_seq} does not link to batch ${previous.batch_seq}` });
      }
      previous = batch;
    }
  }

  let dataKey: Buffer | undefined;
  try {
    dataKey = options.dataKey?.();
  } catch (error) {
    report.decryptError = (error as Error).message;
  }
  if (dataKey) {
    const byBatch = new Map<string, { pos: number; line: string }[]>();
    try {
      for await (const line of archiveLines(dir, manifest, dataKey)) {
        report.records++;
        const row = sealedLinePlace(line);
        const key = `${row.chain_id}#${row.batch_seq}`;
        if (row.tenant !== manifest.tenant || !batchesByKey.has(key)) {
          found({
            kind: 'record_inserted',
            chain: row.chain_id,
            batchSeq: row.batch_seq,
            positions: [row.batch_pos],
            detail: `a record of ${row.tenant} claims batch ${row.batch_seq}, which this archive does not seal`,
          });
          continue;
        }
        const sealed = sealedLineOfRecord(line, batchesByKey.get(key)!.line_format);
        // Appended in place: copying the batch's list for every record made verify quadratic in the batch size.
        const lines = byBatch.get(key);
        if (lines) lines.push({ pos: row.batch_pos, line: sealed });
        else byBatch.set(key, [{ pos: row.batch_pos, line: sealed }]);
      }
      report.decrypted = true;
    } catch (error) {
      found({
        kind: 'payload_undecryptable',
        detail: `${manifest.payload.file} does not decrypt to what was sealed (${(error as Error).message})`,
      });
    }
    if (report.decrypted) {
      for (const [key, batch] of batchesByKey) checkBatchRecords(key, batch, byBatch.get(key) ?? [], report);
      if (report.records !== manifest.payload.records)
        found({ kind: 'record_missing', detail: `the payload holds ${report.records} records, the manifest ${manifest.payload.records}` });
    }
  }
  report.ok = report.findings.length === 0 && !report.decryptError;
  return report;
}

/** A checkpoint signed by one of `keys` (a cluster's nodes each sign their own). */
function openByAny(note: string, keys: string[]): ReturnType<typeof openCheckpoint> {
  const reasons: string[] = [];
  for (const key of keys) {
    try {
      return openCheckpoint(note, key);
    } catch (error) {
      reasons.push((error as Error).message);
    }
  }
  throw new Error(keys.length === 1 ? reasons[0] : `signed by none of the ${keys.length} accepted keys (${reasons.join('; ')})`);
}

function checkBatchRecords(key: string, batch: ArchivedBatch, lines: { pos: number; line: string }[], report: ArchiveVerifyReport): void {
  const chain = key.slice(0, key.lastIndexOf('#'));
  const where = { chain, batchSeq: batch.batch_seq };
  // A complete batch must hash to its sealed content hash (bound to the batch hash); fingerprints then name what changed.
  const complete = lines.length === batch.record_count && batch.absent.length === 0;
  const ordered = [...lines].sort((a, b) => a.pos - b.pos);
  if (complete && hashBatchContent(ordered.map((entry) => entry.line)).contentHash === batch.content_hash) return;
  const excused = new Map<number, string>();
  for (const absence of batch.absent) for (const position of absence.positions) excused.set(position, absence.reason);
  const seen = new Map<number, number>();
  const modified: number[] = [];
  const inserted: number[] = [];
  for (const { pos, line } of ordered) {
    seen.set(pos, (seen.get(pos) ?? 0) + 1);
    if (pos >= batch.record_count || seen.get(pos)! > 1) inserted.push(pos);
    else if (String(lineFingerprint(line)) !== batch.fingerprints[pos]) modified.push(pos);
  }
  const missing: number[] = [];
  for (let pos = 0; pos < batch.record_count; pos++) {
    if (seen.has(pos)) continue;
    const reason = excused.get(pos);
    if (reason) report.explained[`records ${reason}`] = (report.explained[`records ${reason}`] ?? 0) + 1;
    else missing.push(pos);
  }
  const add = (kind: ArchiveFindingKind, positions: number[], what: string) => {
    if (positions.length > 0)
      report.findings.push({ kind, ...where, positions, detail: `${positions.length} record(s) ${what} in batch ${batch.batch_seq}` });
  };
  add('record_modified', modified, 'modified');
  add('record_missing', missing, 'missing');
  add('record_inserted', inserted, 'inserted');
  if (complete && modified.length + missing.length + inserted.length === 0) {
    report.findings.push({
      kind: 'record_modified',
      ...where,
      detail: `the records of batch ${batch.batch_seq} do not hash to its sealed content hash`,
    });
  }
}
