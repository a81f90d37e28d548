/**
 * Where a cluster's nodes count failed authentications together (a
 * replicated bucket); absent on one node. Both throw when the cluster cannot
 * be reached: the node then counts on its own.
 */
export interface SharedFailures {
  /** The source's failures as every node counted them. */
  recent(source: string): Promise<number[]>;
  /** Adds one failure at `at` to the source's newest `keep`; the failures it had before, as every node counted them. */
  add(source: string, at: number, keep: number): Promise<number[]>;
}
