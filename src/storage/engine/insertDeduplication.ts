import { createHash } from 'node:crypto';

/**
 * Inserts into logs remembered per table for deduplication: a batch inserted
 * again with the same token within this many later inserts is dropped
 * (non-replicated tables need the window set; Replicated tables have
 * replicated_deduplication_window, 1000 by default).
 */
export const deduplicationWindow = 1000;

/**
 * Sent only to a ClickHouse server (`clickhouse_url`): there an insert can be
 * committed while its answer is lost, and a cluster forwards blocks to shards
 * and replicas that may retry them, so the same batch can arrive twice.
 * Embedded chDB is an in-process call that either commits or throws, and a
 * batch whose insert threw is aborted, never inserted again under its
 * sequence: nothing to deduplicate, and the token and the window it needs
 * cost every insert CPU (the window makes ClickHouse hash and record every
 * insert's blocks).
 *
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
