/** A value as the bucket holds it: text no one vouched for, and the revision a replacement must name. */
export interface BucketValue {
  text: string;
  revision: number;
}

/**
 * Where a cluster keeps its archive key ring (a replicated key-value
 * bucket); absent on one node. Names are the ring's own; values are JSON the
 * ring checks itself, since whoever can write the bucket is not trusted.
 */
export interface ArchiveKeyBucket {
  /** The latest value, read from the bucket's leader (never an older replica). */
  get(name: string): Promise<BucketValue | undefined>;
  /** Every name holding a value. */
  names(): Promise<string[]>;
  /** Writes `text` only if the name's revision is still `revision` (0: no value yet); false when another write came first. */
  replace(name: string, text: string, revision: number): Promise<boolean>;
  /** Calls `changed` with the name of each value written from now on, by any node; returns the stop. */
  watch(changed: (name: string) => void): Promise<() => void>;
}
