import { createHash } from 'node:crypto';

/**
 * Inserts into logs remembered per table for deduplication: a batch inserted
 * again with the same token within this many later inserts is dropped
 * (non-replicated tables need the window set; Replicated tables have
 * replicated_deduplication_window, 1000 by default).
 */
export const deduplicationWindow = 1000;

/**
 * The insert_deduplication_token of one group commit: its chain batches, each
 * `chain id:batch sequence`, which no other insert ever has (sequence numbers
 * are never reused). Hashed, since one insert may hold a batch of every
 * tenant. ClickHouse adds the block's number to it when the insert is cut into
 * blocks (one per day partition), and the same body is cut the same way again.
 */
export function batchDeduplicationToken(chains: { chainId: string; batchSeq: number }[]): string {
  const hash = createHash('sha256');
  for (const chain of chains) hash.update(`${chain.chainId}:${chain.batchSeq}\n`);
  return `meshlog-batch-${hash.digest('hex')}`;
}
