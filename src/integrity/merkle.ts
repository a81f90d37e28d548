import { createHash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, as Certificate Transparency and
 * Sigstore Rekor use it: leaves are batch hashes of one integrity chain.
 */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(data)
    .digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(left)
    .update(right)
    .digest();
}

const emptyRoot = createHash('sha256').digest();

/** Largest power of two strictly smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Subtree roots already hashed, by `from:to`: lets many proofs over one tree
 * share the work. A chain only grows, so a subtree's root never changes: one
 * cache serves a chain's proofs at every later size too.
 */
export type SubtreeCache = Map<string, Buffer>;

/** Root over leaf hashes [from, to). */
function subtreeRoot(leaves: Buffer[], from: number, to: number, cache?: SubtreeCache): Buffer {
  const n = to - from;
  if (n === 0) return emptyRoot;
  if (n === 1) return leaves[from];
  const key = `${from}:${to}`;
  const cached = cache?.get(key);
  if (cached) return cached;
  const k = splitPoint(n);
  const root = nodeHash(subtreeRoot(leaves, from, from + k, cache), subtreeRoot(leaves, from + k, to, cache));
  cache?.set(key, root);
  return root;
}

export function treeRoot(leafHashes: Buffer[], size = leafHashes.length, cache?: SubtreeCache): Buffer {
  return subtreeRoot(leafHashes, 0, size, cache);
}

/**
 * Audit path for leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
 * Pass one `cache` to a series of proofs over the same leaves (an archive's batches), so each costs O(log n).
 */
export function inclusionProof(leafHashes: Buffer[], index: number, size: number, cache?: SubtreeCache): Buffer[] {
  if (index < 0 || index >= size || size > leafHashes.length) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = (m: number, from: number, to: number): Buffer[] => {
    const n = to - from;
    if (n <= 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...path(m, from, from + k), subtreeRoot(leafHashes, from + k, to, cache)]
      : [...path(m - k, from + k, to), subtreeRoot(leafHashes, from, from + k, cache)];
  };
  return path(index, 0, size);
}

/** Proof that the tree of `oldSize` leaves is a prefix of the tree of `newSize` (RFC 9162 §2.1.4.1). */
export function consistencyProof(leafHashes: Buffer[], oldSize: number, newSize: number, cache?: SubtreeCache): Buffer[] {
  if (oldSize < 1 || oldSize > newSize || newSize > leafHashes.length)
    throw new RangeError(`no consistency proof from ${oldSize} to ${newSize}`);
  const subproof = (m: number, from: number, to: number, complete: boolean): Buffer[] => {
    const n = to - from;
    if (m === n) return complete ? [] : [subtreeRoot(leafHashes, from, to, cache)];
    const k = splitPoint(n);
    return m <= k
      ? [...subproof(m, from, from + k, complete), subtreeRoot(leafHashes, from + k, to, cache)]
      : [...subproof(m - k, from + k, to, false), subtreeRoot(leafHashes, from, from + k, cache)];
  };
  return subproof(oldSize, 0, newSize, true);
}

/**
 * The right edge of a growing tree: one root per perfect subtree, so
 * appending a leaf and computing the root cost O(log n), not O(n).
 */
export class MerkleFrontier {
  private readonly peaks: { size: number; hash: Buffer }[] = [];
  size = 0;

  /** Resumes from saved peaks (largest first), as stored with a checkpoint. */
  static fromPeaks(peaks: { size: number; hash: Buffer }[]): MerkleFrontier {
    const frontier = new MerkleFrontier();
    for (const peak of peaks) {
      frontier.peaks.push(peak);
      frontier.size += peak.size;
    }
    return frontier;
  }

  /** The perfect subtrees of the tree so far, largest first. */
  get savedPeaks(): { size: number; hash: Buffer }[] {
    return this.peaks.map((peak) => ({ ...peak }));
  }

  append(leaf: Buffer): void {
    let node = { size: 1, hash: leaf };
    while (this.peaks.length > 0 && this.peaks[this.peaks.length - 1].size === node.size) {
      const left = this.peaks.pop()!;
      node = { size: left.size * 2, hash: nodeHash(left.hash, node.hash) };
    }
    this.peaks.push(node);
    this.size++;
  }

  root(): Buffer {
    if (this.peaks.length === 0) return emptyRoot;
    let hash = this.peaks[this.peaks.length - 1].hash;
    for (let i = this.peaks.length - 2; i >= 0; i--) hash = nodeHash(this.peaks[i].hash, hash);
    return hash;
  }
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or undefined when
 * the proof does not fit a tree of that size: checking a batch against a
 * signed checkpoint needs no other batch of the chain.
 */
export function rootFromInclusionProof(leaf: Buffer, index: number, size: number, proof: Buffer[]): Buffer | undefined {
  if (index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let root = leaf;
  for (const node of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      root = nodeHash(node, root);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      root = nodeHash(root, node);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? root : undefined;
}
