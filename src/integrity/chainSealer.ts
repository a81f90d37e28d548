import type { Logger } from 'pino';
import type { SealStore } from '../storage/logs/sealStore.js';
import type { BatchSeal, SealedLineFormat } from '../model/batchSeal.js';
import { batchHash, genesisHash, hashBatchBytes } from './batchSeal.js';
import { leafHash, MerkleFrontier } from './merkle.js';
import { checkpointText, signNote, type NoteSigner } from './signedNote.js';

/** One chain's batch, as the writer hands it over before committing it. */
export interface BatchToSeal {
  chainId: string;
  tenant: string;
  batchSeq: number;
  /** How the lines are spelt: what verify rebuilds them as. */
  lineFormat: SealedLineFormat;
  /** The batch's lines as inserted, UTF-8, back to back. */
  bytes: Buffer;
  /** Where each line ends in `bytes`, in position order. */
  lineEnds: Uint32Array;
  minTimeNs: bigint;
  maxTimeNs: bigint;
}

interface ChainHead {
  seq: number;
  hash: string;
  frontier: MerkleFrontier;
  checkpointedSize: number;
}

/** The checkpoint origin of a chain (C2SP tlog-checkpoint first line). */
export function chainOrigin(chainId: string): string {
  return `meshlog/${chainId}`;
}

/**
 * Seals committed batches into per-chain hash chains (one chain per tenant and
 * writer) and periodically signs a Merkle tree head over each chain's batch
 * hashes as a C2SP checkpoint.
 */
export class ChainSealer {
  private readonly byChain = new Map<string, ChainHead>();

  private constructor(
    private readonly store: SealStore,
    private readonly signer: NoteSigner,
    private readonly logger: Logger,
  ) {}

  /**
   * Resumes this writer's chains from their last checkpoint and the batches
   * after it, and marks a batch that a crash interrupted as aborted (removing
   * whatever part of it reached storage, since it was never acknowledged).
   */
  static async open(store: SealStore, signer: NoteSigner, writerId: string, logger: Logger): Promise<ChainSealer> {
    const sealer = new ChainSealer(store, signer, logger);
    const checkpoints = new Map((await store.latestCheckpoints()).map((checkpoint) => [checkpoint.chain_id, checkpoint]));
    // A chain whose only seals were quarantined has rows but no seal: it is resumed too.
    const quarantinedChains = store.quarantined().flatMap((entry) => (entry.chain ? [entry.chain] : []));
    for (const chainId of new Set([...(await store.chains()), ...quarantinedChains])) {
      if (!chainId.endsWith(`/${writerId}`)) continue;
      const checkpoint = checkpoints.get(chainId);
      const frontier = checkpoint
        ? MerkleFrontier.fromPeaks(checkpoint.frontier.map((peak) => ({ size: Number(peak.size), hash: Buffer.from(peak.hash, 'hex') })))
        : new MerkleFrontier();
      let head: ChainHead = {
        seq: frontier.size,
        hash: checkpoint?.head_hash ?? genesisHash,
        frontier,
        checkpointedSize: frontier.size,
      };
      const later = await store.batches(chainId, frontier.size);
      for (const batch of later) {
        frontier.append(leafHash(Buffer.from(batch.batch_hash, 'hex')));
        head = { ...head, seq: Number(batch.batch_seq), hash: batch.batch_hash };
      }
      sealer.byChain.set(chainId, head);
      const last = later[later.length - 1];
      if (last && (await store.countBatchRows(chainId, head.seq)) < Number(last.record_count)) {
        await sealer.abort([{ chainId, batchSeq: head.seq }], 'interrupted before commit (never acknowledged)');
      }
      // Rows past the last seal (their seal was quarantined): the next batch takes a sequence number after them.
      const rowHead = await store.highestRowSeq(chainId);
      if (rowHead > head.seq) sealer.byChain.set(chainId, { ...head, seq: rowHead });
    }
    return sealer;
  }

  /** Last sealed batch of each chain. */
  heads(): Map<string, number> {
    return new Map([...this.byChain].map(([chainId, head]) => [chainId, head.seq]));
  }

  /** Next sequence number of a chain. */
  nextSeq(chainId: string): number {
    return (this.byChain.get(chainId)?.seq ?? 0) + 1;
  }

  /** Computes the seals of a group commit; nothing changes until `advance` after the seals are stored. */
  seal(batches: BatchToSeal[]): BatchSeal[] {
    return batches.map((batch) => {
      const { contentHash, fingerprints } = hashBatchBytes(batch.bytes, batch.lineEnds);
      const prevHash = this.byChain.get(batch.chainId)?.hash ?? genesisHash;
      const fields = { chainId: batch.chainId, batchSeq: batch.batchSeq, recordCount: batch.lineEnds.length, contentHash, prevHash };
      return {
        ...fields,
        tenant: batch.tenant,
        lineFormat: batch.lineFormat,
        fingerprints,
        batchHash: batchHash(fields),
        minTimeNs: batch.minTimeNs,
        maxTimeNs: batch.maxTimeNs,
      };
    });
  }

  advance(seals: BatchSeal[]): void {
    for (const seal of seals) {
      const head = this.byChain.get(seal.chainId) ?? { seq: 0, hash: genesisHash, frontier: new MerkleFrontier(), checkpointedSize: 0 };
      head.frontier.append(leafHash(Buffer.from(seal.batchHash, 'hex')));
      this.byChain.set(seal.chainId, { ...head, seq: seal.batchSeq, hash: seal.batchHash });
    }
  }

  /** Batches whose rows did not (all) commit: remove what did, and say so in the chain's events. */
  async abort(batches: { chainId: string; batchSeq: number }[], reason: string): Promise<void> {
    for (const { chainId, batchSeq } of batches) {
      await this.store.deleteBatchRows(chainId, batchSeq);
      this.logger.warn({ chain: chainId, batch: batchSeq, reason }, 'sealed batch aborted');
    }
    await this.store.insertEvents(
      batches.map(({ chainId, batchSeq }) => ({ chain_id: chainId, batch_seq: batchSeq, kind: 'aborted', detail: reason })),
    );
  }

  /** Signs and stores a checkpoint for every chain that grew since its last one. */
  async checkpoint(): Promise<number> {
    let written = 0;
    for (const [chainId, head] of this.byChain) {
      if (head.frontier.size === head.checkpointedSize) continue;
      const size = head.frontier.size;
      const root = head.frontier.root();
      await this.store.insertCheckpoint({
        chain_id: chainId,
        tree_size: size,
        root_hash: root.toString('hex'),
        note: signNote(checkpointText(chainOrigin(chainId), size, root), this.signer),
        frontier: head.frontier.savedPeaks.map((peak) => ({ size: peak.size, hash: peak.hash.toString('hex') })),
        head_hash: head.hash,
      });
      head.checkpointedSize = size;
      written++;
    }
    return written;
  }
}
