import { createHash } from 'node:crypto';
import type { SealedLineFormat } from '../model/batchSeal.js';
import { checkpointText, openCheckpoint, signNote, type NoteSigner } from '../integrity/signedNote.js';

export const archiveFormat = 'meshlog-archive/v1';
export const manifestFile = 'manifest.json';
export const signatureFile = 'manifest.sig';
export const payloadFile = 'records.ndjson.gz.enc';

/** One sealed batch as archived: its seal, its place under a signed checkpoint, and what of it is absent and why. */
export interface ArchivedBatch {
  batch_seq: number;
  record_count: number;
  content_hash: string;
  prev_hash: string;
  batch_hash: string;
  /**
   * How the batch's lines were sealed. Its records are archived as JSONEachRow
   * objects either way; verify rebuilds the sealed JSONCompactEachRow line
   * from each object. Absent in archives written before it existed (their
   * records are the sealed lines as they are).
   */
  line_format?: SealedLineFormat;
  /** RFC 9162 audit path (hex) from this batch's leaf to the chain's checkpoint root. */
  inclusion_proof: string[];
  /** Records of the batch in the archive. */
  archived: number;
  /** Positions no longer stored and the recorded reason (disposed, erased by request …, aborted). */
  absent: { reason: string; positions: number[] }[];
  /** Per-record fingerprints from the seal: name the changed record, and check batches whose content hash cannot be recomputed (records absent). */
  fingerprints: string[];
}

export interface ArchivedChain {
  chain: string;
  /** A signed checkpoint covering every archived batch of the chain. */
  checkpoint: { tree_size: number; note: string };
  batches: ArchivedBatch[];
}

export interface ArchiveManifest {
  format: typeof archiveFormat;
  archive_id: string;
  tenant: string;
  from: string;
  to: string;
  created_at: string;
  created_by: string;
  /** C2SP verifier key of the signer of the manifest and of every checkpoint. */
  verifier_key: string;
  encryption: { algorithm: 'AES-256-GCM'; key_id: string; period: string; master_key_id: string; iv: string; tag: string; aad: string };
  payload: { file: string; format: 'ndjson'; compression: 'gzip'; sha256: string; bytes: number; records: number };
  chains: ArchivedChain[];
}

/** The signed note's origin line of an archive. */
export const archiveOrigin = (archiveId: string) => `meshlog-archive/${archiveId}`;

/**
 * A signed note over the manifest bytes, in the same C2SP note shape as the
 * checkpoints (origin, record count, SHA-256 of manifest.json), so one
 * verifier key and one note verifier check both.
 */
export function signManifest(manifestText: string, manifest: ArchiveManifest, signer: NoteSigner): string {
  const digest = createHash('sha256').update(manifestText).digest();
  return signNote(checkpointText(archiveOrigin(manifest.archive_id), manifest.payload.records, digest), signer);
}

/** Throws with the reason unless the note is a valid signature by `verifierKey` over exactly these manifest bytes. */
export function checkManifestSignature(manifestText: string, manifest: ArchiveManifest, note: string, verifierKey: string): void {
  const opened = openCheckpoint(note, verifierKey);
  if (opened.origin !== archiveOrigin(manifest.archive_id))
    throw new Error(`the signature is for ${opened.origin}, not archive ${manifest.archive_id}`);
  if (!opened.rootHash.equals(createHash('sha256').update(manifestText).digest()))
    throw new Error('the manifest was changed after it was signed');
  if (opened.treeSize !== manifest.payload.records) throw new Error('the signed record count differs from the manifest');
}
