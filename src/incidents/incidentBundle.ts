import { batchHash, lineFingerprint } from '../integrity/batchSeal.js';
import { inclusionProof, leafHash, rootFromInclusionProof, treeRoot } from '../integrity/merkle.js';
import { ProofTrees } from '../integrity/proofTrees.js';
import { openCheckpoint } from '../integrity/signedNote.js';
import type { Incident, Pin } from '../model/incident.js';
import type { SealedLineFormat } from '../model/batchSeal.js';
import { storedLogLine } from '../storage/logs/logRows.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import { sealedLineOfRecord } from '../storage/logs/sealedLogLine.js';
import type { IncidentStore } from '../storage/stores/incidentStore.js';
import { reviewMarkdown } from './incidentReview.js';

export const bundleKind = 'meshlog.incident';

/** The evidence of one pinned line: the record as stored, its seal, and the seal's place in a signed checkpoint. */
export interface PinnedRecordEvidence {
  record: string;
  chain_id: string;
  batch_seq: number;
  batch_pos: number;
  /** Whether the record was still stored when exported (a pin holds it; an erasure request may still remove it). */
  stored: boolean;
  /**
   * The record as stored, as its JSONEachRow object (one JSON line) whatever its batch's format; withheld when it holds
   * masked fields the exporter may not see. The seal lists at batch_pos the xxHash64 of the line sealed in `line_format`.
   */
  stored_line: string | null;
  /** How the batch sealed its lines: for JSONCompactEachRow, verify rebuilds the sealed array from `stored_line`. Absent in older bundles: JSONEachRow. */
  line_format?: SealedLineFormat;
  withheld?: string;
  seal: { record_count: number; content_hash: string; prev_hash: string; batch_hash: string; fingerprint_at_position: string } | null;
  /** RFC 6962 inclusion of the batch (leaf = batch hash) in the chain's tree at the checkpoint's size. */
  inclusion: { leaf_index: number; tree_size: number; root_hash: string; proof: string[]; checkpoint_note: string | null } | null;
}

/** A signed export of an incident: verified offline by `meshlog report verify` (signature and every proof). */
export interface IncidentBundle {
  report: typeof bundleKind;
  format_version: 1;
  generated_at: string;
  generated_by: { id: string; name: string };
  incident: Omit<Incident, 'timeline' | 'pins'>;
  timeline: Incident['timeline'];
  notes: { at: string; by: string; text: string }[];
  queries: Pin[];
  traces: Pin[];
  patterns: Pin[];
  records: (PinnedRecordEvidence & { pin: Pin })[];
  /** The post-incident review, filled from the timeline (markdown). */
  review_markdown: string;
  /** The C2SP verifier key the checkpoints are signed with. */
  verifier_key: string | null;
}

export interface BundleSources {
  store: IncidentStore;
  /** Absent when sealing is off: records are exported without seals or proofs. */
  seals: SealStore | undefined;
  verifierKey: string | undefined;
  /** Signs a checkpoint of every chain now, so a just-pinned batch is covered by a signed root. */
  checkpointNow: (() => Promise<unknown>) | undefined;
  /** Whether stored lines may be shown to the exporter as stored (no masked field it may not see). */
  showsStoredLines: boolean;
}

/** Builds the unsigned bundle of an incident (the server signs it as it signs reports). */
export async function buildIncidentBundle(
  incident: Incident,
  sources: BundleSources,
  generatedBy: { id: string; name: string },
): Promise<IncidentBundle> {
  const linePins = incident.pins.filter((pin) => pin.kind === 'line');
  const trees = sources.seals && new ProofTrees(sources.seals);
  if (sources.seals && sources.checkpointNow && linePins.length > 0) {
    const newest = new Map(
      (await sources.seals.latestCheckpoints()).map((checkpoint) => [checkpoint.chain_id, Number(checkpoint.tree_size)]),
    );
    if (linePins.some((pin) => (newest.get(pin.chain_id) ?? 0) < pin.batch_seq)) await sources.checkpointNow();
  }
  const records: IncidentBundle['records'] = [];
  for (const pin of linePins) {
    const row = await sources.store.recordAt(incident.tenant, pin.chain_id, pin.batch_seq, pin.batch_pos);
    const batch = await sources.seals?.batch(pin.chain_id, pin.batch_seq);
    // One shape for users whatever the batch's format: the object; verify rebuilds the sealed line from it.
    const storedLine = row ? storedLogLine({ ...row, batch_seq: Number(row.batch_seq), batch_pos: Number(row.batch_pos) }) : null;
    const evidence: PinnedRecordEvidence = {
      record: pin.record,
      chain_id: pin.chain_id,
      batch_seq: pin.batch_seq,
      batch_pos: pin.batch_pos,
      stored: row !== undefined,
      stored_line: sources.showsStoredLines ? storedLine : null,
      line_format: batch?.line_format ?? 'JSONEachRow',
      ...(sources.showsStoredLines || storedLine === null
        ? {}
        : { withheld: 'the stored line has masked fields this exporter may not see; the seal and proof still cover it' }),
      seal: null,
      inclusion: null,
    };
    if (batch && trees && sources.seals) {
      evidence.seal = {
        record_count: batch.record_count,
        content_hash: batch.content_hash,
        prev_hash: batch.prev_hash,
        batch_hash: batch.batch_hash,
        fingerprint_at_position: batch.fingerprints[pin.batch_pos] ?? '',
      };
      const { leaves, cache } = await trees.tree(pin.chain_id);
      const checkpoint = (await sources.seals.checkpoints([pin.chain_id]))
        .filter((candidate) => Number(candidate.tree_size) >= pin.batch_seq && Number(candidate.tree_size) <= leaves.length)
        .at(-1);
      const size = checkpoint ? Number(checkpoint.tree_size) : leaves.length;
      if (pin.batch_seq <= size) {
        evidence.inclusion = {
          leaf_index: pin.batch_seq - 1,
          tree_size: size,
          root_hash: treeRoot(leaves, size, cache).toString('hex'),
          proof: inclusionProof(leaves, pin.batch_seq - 1, size, cache).map((hash) => hash.toString('hex')),
          checkpoint_note: checkpoint?.note ?? null,
        };
      }
    }
    records.push({ ...evidence, pin });
  }
  const { timeline, pins, ...facts } = incident;
  return {
    report: bundleKind,
    format_version: 1,
    generated_at: new Date().toISOString(),
    generated_by: generatedBy,
    incident: facts,
    timeline,
    notes: timeline
      .filter((entry) => entry.kind === 'note')
      .map((entry) => ({ at: entry.at, by: entry.by, text: String(entry.detail.text) })),
    queries: pins.filter((pin) => pin.kind === 'query'),
    traces: pins.filter((pin) => pin.kind === 'trace'),
    patterns: pins.filter((pin) => pin.kind === 'pattern'),
    records,
    review_markdown: reviewMarkdown(incident),
    verifier_key: sources.verifierKey ?? null,
  };
}

/**
 * Checks what a bundle's signature does not: each pinned record against its
 * seal (its line's xxHash64 is the one sealed at its position), the seal's
 * batch hash, the batch's inclusion proof, and the checkpoint signature over
 * the root the proof leads to. Returns one line per problem.
 */
export function checkBundleProofs(bundle: IncidentBundle, trustedKey: string | undefined): string[] {
  const problems: string[] = [];
  const key = trustedKey ?? bundle.verifier_key ?? undefined;
  for (const record of bundle.records ?? []) {
    const name = `record ${record.record}`;
    if (!record.seal || !record.inclusion) {
      problems.push(`${name}: exported without a seal or inclusion proof`);
      continue;
    }
    const sealedLine = record.stored_line === null ? null : sealedLineOfRecord(record.stored_line, record.line_format);
    if (sealedLine !== null && lineFingerprint(sealedLine).toString() !== record.seal.fingerprint_at_position) {
      problems.push(`${name}: the line does not match the fingerprint sealed at position ${record.batch_pos}`);
    }
    const computed = batchHash({
      chainId: record.chain_id,
      batchSeq: record.batch_seq,
      recordCount: record.seal.record_count,
      contentHash: record.seal.content_hash,
      prevHash: record.seal.prev_hash,
    });
    if (computed !== record.seal.batch_hash) problems.push(`${name}: the seal's batch hash does not match its fields`);
    const { leaf_index, tree_size, root_hash, proof, checkpoint_note } = record.inclusion;
    const root = rootFromInclusionProof(
      leafHash(Buffer.from(record.seal.batch_hash, 'hex')),
      leaf_index,
      tree_size,
      proof.map((hash) => Buffer.from(hash, 'hex')),
    );
    if (!root || root.toString('hex') !== root_hash)
      problems.push(`${name}: the inclusion proof does not lead to root ${root_hash.slice(0, 16)}…`);
    if (checkpoint_note === null) problems.push(`${name}: no signed checkpoint covers batch ${record.batch_seq} (the root is unsigned)`);
    else if (!key) problems.push(`${name}: no verifier key to check the checkpoint with`);
    else {
      try {
        const checkpoint = openCheckpoint(checkpoint_note, key);
        if (checkpoint.treeSize !== tree_size || checkpoint.rootHash.toString('hex') !== root_hash)
          problems.push(`${name}: the signed checkpoint is of another tree (size ${checkpoint.treeSize})`);
      } catch (error) {
        problems.push(`${name}: checkpoint: ${(error as Error).message}`);
      }
    }
  }
  return problems;
}
