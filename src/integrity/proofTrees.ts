import type { SealStore } from '../storage/logs/sealStore.js';
import { leafHash, type SubtreeCache } from './merkle.js';

/** Cached subtree roots per chain before the cache starts over (about 64 bytes each, plus its key). */
const maxCachedRoots = 1_000_000;

/**
 * The Merkle trees proofs are taken from, per chain: leaf hashes read once
 * (later requests read only the batches sealed since) and subtree roots hashed
 * once, so a proof costs O(log n) hashes instead of the whole tree each time.
 * Both only grow with the chain, so nothing cached is ever stale.
 */
export class ProofTrees {
  private readonly chains = new Map<string, { leaves: Buffer[]; cache: SubtreeCache; reading: Promise<void> }>();

  constructor(private readonly store: SealStore) {}

  async tree(chain: string): Promise<{ leaves: Buffer[]; cache: SubtreeCache }> {
    let tree = this.chains.get(chain);
    if (!tree) this.chains.set(chain, (tree = { leaves: [], cache: new Map(), reading: Promise.resolve() }));
    const current = tree;
    // One read at a time per chain, so two requests never append the same batches twice.
    const read = current.reading.then(async () => {
      for (const batch of await this.store.batches(chain, current.leaves.length)) {
        // Leaf i is batch i + 1: a gap in the sequence is not appended past.
        if (Number(batch.batch_seq) !== current.leaves.length + 1) break;
        current.leaves.push(leafHash(Buffer.from(batch.batch_hash, 'hex')));
      }
      if (current.cache.size > maxCachedRoots) current.cache.clear();
    });
    current.reading = read.catch(() => undefined);
    await read;
    // No tree is kept for a chain with no batches (a mistyped name).
    if (current.leaves.length === 0) this.chains.delete(chain);
    return current;
  }
}
