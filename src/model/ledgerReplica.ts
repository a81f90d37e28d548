/**
 * Where a cluster node's deletion ledger lines are kept off its disk (a
 * replicated bucket); absent on one node. Lines are numbered from 1.
 */
export interface LedgerReplica {
  /** Keeps line `number` of this node's ledger. */
  put(number: number, line: string): Promise<void>;
  /** Every line of this node's ledger the cluster holds, in order. */
  lines(): Promise<string[]>;
}

/** One node's deletion ledger as the cluster's bucket holds it, for an operator to check. */
export interface ReplicatedLedgerCopy {
  node: string;
  /** The lines held, in line-number order. */
  lines: string[];
  /** Line numbers below the highest one held that the bucket has nothing of. */
  missing: number[];
  /** Line numbers whose value was deleted or purged from the bucket (the marker stays where the line was). */
  deleted: number[];
}

/** Any node's replicated deletion ledger (a node lost with its disk, read through another). */
export type ReplicatedLedgers = (node: string) => Promise<ReplicatedLedgerCopy>;
