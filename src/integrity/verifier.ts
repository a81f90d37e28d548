import type { SealStore } from '../storage/logs/sealStore.js';
import type { StoredBatch } from '../storage/logs/storedBatch.js';
import type { StoredLogRow } from '../storage/logs/logRows.js';
import { sealedLogLine } from '../storage/logs/sealedLogLine.js';
import { batchHash, genesisHash, hashBatchContent, lineFingerprint } from './batchSeal.js';
import { chainOrigin } from './chainSealer.js';
import { leafHash, MerkleFrontier } from './merkle.js';
import { openCheckpoint } from './signedNote.js';

export type FindingKind =
  | 'record_modified'
  | 'record_missing'
  | 'record_inserted'
  | 'batch_missing'
  | 'batch_altered'
  | 'batch_out_of_order'
  | 'chain_broken'
  | 'checkpoint_forged'
  | 'checkpoint_mismatch'
  /** A journaled seal that could not be moved into seal_batches and was set aside at a start or flush. */
  | 'seal_quarantined';

export interface Finding {
  kind: FindingKind;
  chain: string;
  batchSeq?: number;
  /** Positions in the batch, for record findings (at most `maxPositions` listed). */
  positions?: number[];
  count?: number;
  detail: string;
}

export interface VerifyOptions {
  verifierKey: string;
  /** Other keys a checkpoint may be signed with (a cluster's published key set); none other is accepted. */
  alsoAccepted?: string[];
  tenant?: string;
  fromNs?: bigint;
  toNs?: bigint;
}

export interface VerifyProgress {
  chain: string;
  batchesChecked: number;
  batchesTotal: number;
  recordsChecked: number;
}

export interface VerifyReport {
  ok: boolean;
  chains: number;
  batches: number;
  records: number;
  checkpoints: number;
  /** Absences with a recorded reason: `batches aborted` (by a crash), `records disposed` (by policy), `records erased by request <id>`. */
  explained: Record<string, number>;
  findings: Finding[];
  elapsedMs: number;
}

const maxPositions = 50;

/**
 * Re-reads stored records, recomputes every batch hash, walks each chain,
 * checks every checkpoint's signature and Merkle root, and names what is
 * wrong: modified, missing or inserted records, missing, altered or
 * reordered batches, forged or rewritten checkpoints.
 */
export async function verifyIntegrity(
  store: SealStore,
  options: VerifyOptions,
  onProgress: (progress: VerifyProgress) => void = () => undefined,
  onFinding: (finding: Finding) => void = () => undefined,
): Promise<VerifyReport> {
  const started = Date.now();
  const report: VerifyReport = { ok: true, chains: 0, batches: 0, records: 0, checkpoints: 0, explained: {}, findings: [], elapsedMs: 0 };
  const found = (finding: Finding) => {
    report.findings.push(finding);
    onFinding(finding);
  };

  // Set aside before anything else is read: the batches they sealed are otherwise reported as missing or unsealed.
  for (const entry of store.quarantined()) {
    if (options.tenant && entry.tenant !== options.tenant) continue;
    found({
      kind: 'seal_quarantined',
      chain: entry.chain ?? '(unknown)',
      batchSeq: entry.batchSeq,
      detail: `journaled seal set aside at ${entry.quarantinedAt} from ${entry.segment}: ${entry.reason}`,
    });
  }

  const chains = await store.chains(options.tenant);
  const checkpointsByChain = new Map<string, Awaited<ReturnType<SealStore['checkpoints']>>>();
  for (const checkpoint of await store.checkpoints(chains)) {
    checkpointsByChain.set(checkpoint.chain_id, [...(checkpointsByChain.get(checkpoint.chain_id) ?? []), checkpoint]);
  }

  for (const chain of chains) {
    report.chains++;
    const batches = await store.batches(chain);
    walkChain(chain, batches, found);
    report.checkpoints += checkCheckpoints(
      chain,
      batches,
      checkpointsByChain.get(chain) ?? [],
      [options.verifierKey, ...(options.alsoAccepted ?? [])],
      found,
    );

    // Absences with a recorded reason: batches a crash aborted, records disposed by policy or erased on request.
    const aborted = new Set<number>();
    const excused = new Map<number, Map<number, string>>();
    for (const event of await store.events(chain)) {
      const seq = Number(event.batch_seq);
      if (event.kind === 'aborted') aborted.add(seq);
      else {
        const detail = JSON.parse(event.detail || '{}') as { positions?: number[]; request?: string };
        // An erasure names its request, so the report says whose request removed what.
        const reason = event.kind === 'erased' && detail.request ? `erased by request ${detail.request}` : event.kind;
        const byPosition = excused.get(seq) ?? new Map<number, string>();
        for (const position of detail.positions ?? []) byPosition.set(position, reason);
        excused.set(seq, byPosition);
      }
    }
    const explain = (key: string, count: number) => {
      if (count > 0) report.explained[key] = (report.explained[key] ?? 0) + count;
    };
    const selected = batches.filter(
      (batch) =>
        (options.fromNs === undefined || BigInt(batch.max_time) >= options.fromNs) &&
        (options.toNs === undefined || BigInt(batch.min_time) <= options.toNs),
    );
    const progress: VerifyProgress = { chain, batchesChecked: 0, batchesTotal: selected.length, recordsChecked: 0 };
    const checkBatch = async (batch: StoredBatch, seq: number, rows: StoredLogRow[]) => {
      if (aborted.has(seq) && rows.length === 0) {
        explain('batches aborted', 1);
      } else {
        const absences = await checkRecords(store, chain, seq, batch, rows, excused.get(seq), found);
        for (const [kind, count] of Object.entries(absences)) explain(`records ${kind}`, count);
      }
      report.batches++;
      report.records += rows.length;
      progress.batchesChecked++;
      progress.recordsChecked += rows.length;
      if (progress.batchesChecked % 100 === 0) onProgress({ ...progress });
    };

    if (selected.length > 0) {
      const bySeq = new Map(selected.map((batch) => [Number(batch.batch_seq), batch]));
      const seen = new Set<number>();
      let currentSeq = -1;
      let rows: StoredLogRow[] = [];
      const first = Number(selected[0].batch_seq);
      const last = Number(selected[selected.length - 1].batch_seq);
      // Rows of batches that were never sealed are found by unsealedRows below.
      for await (const row of store.chainRows(chain, first, last)) {
        const seq = Number(row.batch_seq);
        if (seq !== currentSeq) {
          if (bySeq.has(currentSeq)) await checkBatch(bySeq.get(currentSeq)!, currentSeq, rows);
          seen.add(seq);
          currentSeq = seq;
          rows = [];
        }
        rows.push(row);
      }
      if (bySeq.has(currentSeq)) await checkBatch(bySeq.get(currentSeq)!, currentSeq, rows);
      for (const batch of selected) {
        if (!seen.has(Number(batch.batch_seq))) await checkBatch(batch, Number(batch.batch_seq), []);
      }
    }
    onProgress({ ...progress });
  }

  for (const orphan of await store.unsealedRows(options.tenant)) {
    found({
      kind: 'record_inserted',
      chain: orphan.chain_id,
      batchSeq: Number(orphan.batch_seq),
      count: Number(orphan.n),
      detail: `${orphan.n} record(s) claim batch ${orphan.batch_seq}, which was never sealed`,
    });
  }

  report.ok = report.findings.length === 0;
  report.elapsedMs = Date.now() - started;
  return report;
}

/** Sequence numbers contiguous from 1, each seal's own hash right, each linked to its predecessor. */
function walkChain(chain: string, batches: StoredBatch[], found: (finding: Finding) => void): void {
  const seqOfHash = new Map(batches.map((batch) => [batch.batch_hash, Number(batch.batch_seq)]));
  let expected = 1;
  let previousHash = genesisHash;
  for (const batch of batches) {
    const seq = Number(batch.batch_seq);
    if (seq > expected) {
      found({
        kind: 'batch_missing',
        chain,
        batchSeq: expected,
        count: seq - expected,
        detail: `batch seals ${expected}..${seq - 1} are missing from the chain`,
      });
    } else if (seq < expected) {
      found({ kind: 'batch_altered', chain, batchSeq: seq, detail: `a second seal claims sequence number ${seq}` });
      continue;
    }
    const recomputed = batchHash({
      chainId: batch.chain_id,
      batchSeq: seq,
      recordCount: Number(batch.record_count),
      contentHash: batch.content_hash,
      prevHash: batch.prev_hash,
    });
    if (recomputed !== batch.batch_hash) {
      found({ kind: 'batch_altered', chain, batchSeq: seq, detail: 'the seal does not hash to its recorded batch hash (seal edited)' });
    }
    if (batch.prev_hash !== previousHash && seq === expected) {
      const linked = seqOfHash.get(batch.prev_hash);
      found(
        linked !== undefined
          ? { kind: 'batch_out_of_order', chain, batchSeq: seq, detail: `batch ${seq} follows batch ${linked}, not batch ${seq - 1}` }
          : { kind: 'chain_broken', chain, batchSeq: seq, detail: `batch ${seq} does not link to the batch before it` },
      );
    }
    previousHash = batch.batch_hash;
    expected = seq + 1;
  }
}

/** The checkpoint opened with the first accepted key that signed it; a bad signature by an accepted key is never passed over. */
function openWithAny(note: string, verifierKeys: string[]) {
  for (const key of verifierKeys) {
    try {
      return openCheckpoint(note, key);
    } catch (error) {
      if (!(error as Error).message.startsWith('no signature by') || verifierKeys.length === 1) throw error;
    }
  }
  throw new Error(
    `signed by none of the ${verifierKeys.length} accepted keys (${verifierKeys.map((key) => key.split('+')[0]).join(', ')})`,
  );
}

/** Every checkpoint must carry a valid signature and the Merkle root of the batches as stored now. */
function checkCheckpoints(
  chain: string,
  batches: StoredBatch[],
  checkpoints: { tree_size: number; root_hash: string; note: string }[],
  verifierKeys: string[],
  found: (finding: Finding) => void,
): number {
  const roots = new Map<number, Buffer>();
  const wanted = new Set(checkpoints.map((checkpoint) => Number(checkpoint.tree_size)));
  const frontier = new MerkleFrontier();
  for (const batch of batches) {
    frontier.append(leafHash(Buffer.from(batch.batch_hash, 'hex')));
    if (wanted.has(frontier.size)) roots.set(frontier.size, frontier.root());
  }
  for (const checkpoint of checkpoints) {
    const size = Number(checkpoint.tree_size);
    let parsed;
    try {
      parsed = openWithAny(checkpoint.note, verifierKeys);
    } catch (error) {
      found({ kind: 'checkpoint_forged', chain, batchSeq: size, detail: `checkpoint at tree size ${size}: ${(error as Error).message}` });
      continue;
    }
    if (parsed.origin !== chainOrigin(chain) || parsed.treeSize !== size) {
      found({
        kind: 'checkpoint_forged',
        chain,
        batchSeq: size,
        detail: `checkpoint at tree size ${size} is signed for ${parsed.origin} at size ${parsed.treeSize}`,
      });
      continue;
    }
    const root = roots.get(size);
    if (!root || !root.equals(parsed.rootHash)) {
      found({
        kind: 'checkpoint_mismatch',
        chain,
        batchSeq: size,
        detail: root
          ? `the batches stored now do not produce the root signed at tree size ${size}: history was rewritten`
          : `a checkpoint was signed at tree size ${size} but only ${batches.length} batches are stored`,
      });
    }
  }
  return checkpoints.length;
}

/** Compares one batch's stored rows with its seal and names each modified, missing or inserted record. */
async function checkRecords(
  store: SealStore,
  chain: string,
  seq: number,
  batch: StoredBatch,
  rows: StoredLogRow[],
  excused: Map<number, string> | undefined,
  found: (finding: Finding) => void,
): Promise<Record<string, number>> {
  const lines = rows.map((row) => sealedLogLine(row, batch.line_format));
  const count = Number(batch.record_count);
  const absences: Record<string, number> = {};
  if (rows.length === count && hashBatchContent(lines).contentHash === batch.content_hash) return absences;

  const fingerprints = await store.fingerprints(chain, seq);
  if (fingerprints.length !== count) {
    // Sealed from the journal after a crash, from rows that no longer matched: the batch is all there is to name.
    found({
      kind: 'record_modified',
      chain,
      batchSeq: seq,
      detail: `batch ${seq} content does not match its seal (no record fingerprints to locate the change)`,
    });
    return absences;
  }
  const byPosition = new Map<number, string[]>();
  rows.forEach((row, i) => byPosition.set(row.batch_pos, [...(byPosition.get(row.batch_pos) ?? []), lines[i]]));
  const missing: number[] = [];
  const modified: number[] = [];
  const inserted: number[] = [];
  for (let pos = 0; pos < count; pos++) {
    const candidates = byPosition.get(pos) ?? [];
    const reason = excused?.get(pos);
    if (candidates.length === 0 && reason) absences[reason] = (absences[reason] ?? 0) + 1;
    else if (candidates.length === 0) missing.push(pos);
    const original = candidates.findIndex((line) => lineFingerprint(line) === fingerprints[pos]);
    if (candidates.length > 0 && original < 0) modified.push(pos);
    for (let extra = 1; extra < candidates.length; extra++) inserted.push(pos);
  }
  for (const pos of byPosition.keys()) if (pos >= count) inserted.push(...byPosition.get(pos)!.map(() => pos));
  const report = (kind: FindingKind, positions: number[], what: string) => {
    if (positions.length > 0) {
      found({
        kind,
        chain,
        batchSeq: seq,
        count: positions.length,
        positions: positions.slice(0, maxPositions),
        detail: `${positions.length} record(s) ${what} in batch ${seq}`,
      });
    }
  };
  report('record_modified', modified, 'modified');
  report('record_missing', missing, 'missing');
  report('record_inserted', inserted, 'inserted');
  if (modified.length + missing.length + inserted.length === 0 && Object.keys(absences).length === 0) {
    found({ kind: 'record_modified', chain, batchSeq: seq, detail: `batch ${seq} content does not match its seal` });
  }
  return absences;
}
