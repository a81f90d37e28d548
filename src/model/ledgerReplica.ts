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
