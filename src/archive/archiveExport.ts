import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { inclusionProof, leafHash, type SubtreeCache } from '../integrity/merkle.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import { storedLogLine } from '../storage/logs/logRows.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import type { StoredBatch } from '../storage/logs/storedBatch.js';
import {
  archiveFormat,
  payloadFile,
  signManifest,
  type ArchivedBatch,
  type ArchivedChain,
  type ArchiveManifest,
} from './archiveManifest.js';
import { periodOf, type ArchiveKeys } from './keyRing.js';

export interface ArchiveSources {
  store: SealStore;
  signer: NoteSigner;
  keyRing: ArchiveKeys;
  /** Signs a checkpoint for every chain that grew, so the newest archived batches are covered by one. */
  checkpointNow: () => Promise<unknown>;
}

export interface ArchiveRequest {
  tenant: string;
  fromNs: bigint;
  toNs: bigint;
  actor: string;
}

const isoNs = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

/** Positions of a batch that are absent for a recorded reason, from the chain's events. */
function absences(events: Awaited<ReturnType<SealStore['events']>>): Map<number, Map<string, number[]>> {
  const bySeq = new Map<number, Map<string, number[]>>();
  for (const event of events) {
    const detail = JSON.parse(event.detail || '{}') as { positions?: number[]; request?: string };
    const reason = event.kind === 'erased' && detail.request ? `erased by request ${detail.request}` : event.kind;
    const reasons = bySeq.get(Number(event.batch_seq)) ?? new Map<string, number[]>();
    reasons.set(reason, [...(reasons.get(reason) ?? []), ...(detail.positions ?? [])]);
    bySeq.set(Number(event.batch_seq), reasons);
  }
  return bySeq;
}

/**
 * Writes one tenant's sealed batches overlapping [from, to] as gzip NDJSON
 * (each record as its JSONEachRow object, the line sealed for a batch of that
 * format, whose values the sealed line of a compact batch spells), encrypted with the tenant's data key of the
 * period, handing ciphertext chunks to `emit`; returns the manifest (seals,
 * inclusion proofs to signed checkpoints, absences) and its signature.
 */
export async function exportArchive(
  sources: ArchiveSources,
  request: ArchiveRequest,
  emit: (chunk: Buffer) => Promise<void>,
): Promise<{ manifest: ArchiveManifest; manifestText: string; signature: string }> {
  const period = periodOf(request.fromNs);
  if (periodOf(request.toNs) !== period)
    throw new RangeError(
      `an archive covers one key period (a UTC month): ${isoNs(request.fromNs)} and ${isoNs(request.toNs)} are in different months; export each month on its own`,
    );
  const { keyId, key } = await sources.keyRing.dataKey(request.tenant, period, request.actor);
  await sources.checkpointNow();

  const archiveId = `ar-${randomBytes(8).toString('hex')}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(archiveId));
  const digest = createHash('sha256');
  let bytes = 0;
  let records = 0;
  const chains: ArchivedChain[] = [];
  const { store } = sources;

  async function* lines(): AsyncGenerator<string> {
    for (const chain of await store.chains(request.tenant)) {
      const all = await store.batches(chain);
      const selected = all.filter((batch) => BigInt(batch.max_time) >= request.fromNs && BigInt(batch.min_time) <= request.toNs);
      if (selected.length === 0) continue;
      const last = Number(selected[selected.length - 1].batch_seq);
      const checkpoint = (await store.checkpoints([chain])).filter((candidate) => Number(candidate.tree_size) >= last).pop();
      if (!checkpoint) throw new Error(`chain ${chain} has no signed checkpoint covering batch ${last}`);
      const size = Number(checkpoint.tree_size);
      const leaves = all.slice(0, size).map((batch) => leafHash(Buffer.from(batch.batch_hash, 'hex')));
      const subtrees: SubtreeCache = new Map();
      const absent = absences(await store.events(chain));
      const archived = new Map<number, number>();
      const wanted = new Set(selected.map((batch) => Number(batch.batch_seq)));
      const fingerprints = await store.fingerprintsRange(chain, Number(selected[0].batch_seq), last);
      for await (const row of store.chainRows(chain, Number(selected[0].batch_seq), last)) {
        if (!wanted.has(Number(row.batch_seq))) continue;
        archived.set(Number(row.batch_seq), (archived.get(Number(row.batch_seq)) ?? 0) + 1);
        records++;
        // One shape for users (jq, a SIEM) whatever the batch's format: its object; verify rebuilds the sealed line.
        yield storedLogLine(row);
      }
      const batches: ArchivedBatch[] = [];
      for (const batch of selected as StoredBatch[]) {
        const seq = Number(batch.batch_seq);
        const count = archived.get(seq) ?? 0;
        const entry: ArchivedBatch = {
          batch_seq: seq,
          record_count: Number(batch.record_count),
          content_hash: batch.content_hash,
          prev_hash: batch.prev_hash,
          batch_hash: batch.batch_hash,
          line_format: batch.line_format ?? 'JSONEachRow',
          inclusion_proof: inclusionProof(leaves, seq - 1, size, subtrees).map((node) => node.toString('hex')),
          archived: count,
          absent: [...(absent.get(seq) ?? new Map<string, number[]>())].map(([reason, positions]) => ({ reason, positions })),
          fingerprints: fingerprints.get(seq) ?? [],
        };
        batches.push(entry);
      }
      chains.push({ chain, checkpoint: { tree_size: size, note: checkpoint.note }, batches });
    }
  }

  await pipeline(Readable.from(lines()), createGzip(), cipher, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      digest.update(chunk);
      bytes += chunk.length;
      await emit(chunk);
    }
  });

  const manifest: ArchiveManifest = {
    format: archiveFormat,
    archive_id: archiveId,
    tenant: request.tenant,
    from: isoNs(request.fromNs),
    to: isoNs(request.toNs),
    created_at: new Date().toISOString(),
    created_by: request.actor,
    verifier_key: sources.signer.verifierKey,
    encryption: {
      algorithm: 'AES-256-GCM',
      key_id: keyId,
      period,
      master_key_id: sources.keyRing.masterKeyId,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      aad: archiveId,
    },
    payload: { file: payloadFile, format: 'ndjson', compression: 'gzip', sha256: digest.digest('hex'), bytes, records },
    chains,
  };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  return { manifest, manifestText, signature: signManifest(manifestText, manifest, sources.signer) };
}
