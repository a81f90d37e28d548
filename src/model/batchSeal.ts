/**
 * How a batch's lines were spelt when sealed and inserted: JSONEachRow objects
 * (every batch before migration 29), or JSONCompactEachRow arrays of the logs
 * columns in `compactLogColumns` order (the engine parses them in 0.70× the
 * time: no key names). Verify rebuilds each stored row in its batch's format.
 */
export type SealedLineFormat = 'JSONEachRow' | 'JSONCompactEachRow';

/** What is sealed about one batch of one chain: every field verify recomputes. */
export interface BatchSeal {
  chainId: string;
  tenant: string;
  batchSeq: number;
  recordCount: number;
  lineFormat: SealedLineFormat;
  /** SHA-256 over the batch's stored lines, in position order. */
  contentHash: string;
  /** A 64-bit fingerprint per line: locates a modified record once the content hash disagrees. */
  fingerprints: bigint[];
  prevHash: string;
  batchHash: string;
  minTimeNs: bigint;
  maxTimeNs: bigint;
}
