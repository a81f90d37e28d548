/** What is sealed about one batch of one chain: every field verify recomputes. */
export interface BatchSeal {
  chainId: string;
  tenant: string;
  batchSeq: number;
  recordCount: number;
  /** SHA-256 over the batch's stored lines, in position order. */
  contentHash: string;
  /** A 64-bit fingerprint per line: locates a modified record once the content hash disagrees. */
  fingerprints: bigint[];
  prevHash: string;
  batchHash: string;
  minTimeNs: bigint;
  maxTimeNs: bigint;
}
