import { createHash } from 'node:crypto';
import xxhash from 'xxhash-wasm';
import type { BatchSeal } from '../model/batchSeal.js';

const { h64, h64Raw } = await xxhash();

export const genesisHash = '0'.repeat(64);

/** The lines of one batch as stored (one JSONEachRow line each, position order). */
export function hashBatchContent(lines: string[]): { contentHash: string; fingerprints: bigint[] } {
  const content = createHash('sha256');
  const fingerprints = new Array<bigint>(lines.length);
  for (let i = 0; i < lines.length; i++) {
    content.update(lines[i]);
    fingerprints[i] = h64(lines[i]);
  }
  return { contentHash: content.digest('hex'), fingerprints };
}

/**
 * The same hashes from the lines already encoded as they are inserted (UTF-8,
 * back to back; `lineEnds[i]` is where line i ends): SHA-256 over
 * concatenated lines is SHA-256 over the lines fed one by one, and a line's
 * xxHash64 is that of its UTF-8 bytes, so nothing is encoded twice.
 */
export function hashBatchBytes(bytes: Uint8Array, lineEnds: ArrayLike<number>): { contentHash: string; fingerprints: bigint[] } {
  const fingerprints = new Array<bigint>(lineEnds.length);
  let start = 0;
  for (let i = 0; i < lineEnds.length; i++) {
    fingerprints[i] = h64Raw(bytes.subarray(start, lineEnds[i]));
    start = lineEnds[i];
  }
  return { contentHash: createHash('sha256').update(bytes).digest('hex'), fingerprints };
}

/** The chained hash of a batch: binds its chain, position, size, content and predecessor. */
export function batchHash(fields: Pick<BatchSeal, 'chainId' | 'batchSeq' | 'recordCount' | 'contentHash' | 'prevHash'>): string {
  return createHash('sha256')
    .update(`meshlog-batch-v1\n${fields.chainId}\n${fields.batchSeq}\n${fields.recordCount}\n${fields.contentHash}\n${fields.prevHash}\n`)
    .digest('hex');
}

export function lineFingerprint(line: string): bigint {
  return h64(line);
}
