import type { SealedLineFormat } from '../../model/batchSeal.js';

/** A seal_batches row without its per-record fingerprints; times as decimal strings, `committed_at` as Unix seconds. */
export interface StoredBatch {
  chain_id: string;
  tenant: string;
  batch_seq: number;
  record_count: number;
  /** Absent from a seal journaled before migration 29: JSONEachRow. */
  line_format?: SealedLineFormat;
  content_hash: string;
  prev_hash: string;
  batch_hash: string;
  min_time: string;
  max_time: string;
  committed_at: string;
}
