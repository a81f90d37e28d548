import type { LogRecord } from '../model/logRecord.js';
import type { RecordIdQuery } from '../storage/logs/recordIdStore.js';
import { ForgottenIds } from './forgottenIds.js';

/** OpenTelemetry's record id: "other log records with the same id will be considered duplicates and can be removed safely". */
export const recordIdAttribute = 'log.record.uid';

export interface RedeliveryFilterOptions {
  /** Committed ids remembered (all tenants); past it the oldest are forgotten and storage answers for them. */
  maxRememberedIds: number;
  /** How far a sender's clock may run ahead of ours: records observed this close to what memory covers are checked in storage. */
  clockSkewMs: number;
  /** Forgotten ids kept in a Bloom filter (about 3.6 bytes each) so that most records older than memory need no lookup. */
  maxForgottenIds: number;
  /** Storage held no record when this process started: nothing was committed before memory began. */
  storageEmptyAtStart?: boolean;
}

export interface RedeliveryFilterParts {
  /** Commits records; resolves once they are committed (the group-commit writer). */
  write: (records: LogRecord[], receiver: string) => Promise<void>;
  /** Which of these ids are already stored. */
  storedIds: (query: RecordIdQuery) => Promise<Set<string>>;
  /** Records dropped as redeliveries of committed ones. */
  countDropped: (receiver: string, count: number) => void;
  now?: () => number;
}

/** Resolves true once the claiming write committed, false when it failed. */
type Claim = Promise<boolean>;

/**
 * Drops records whose `log.record.uid` was already committed for their
 * tenant, so a batch re-sent after a lost acknowledgement (agent killed,
 * answer cut) is stored once. Records without an id pass untouched.
 *
 * Memory holds the ids committed since `coveredSinceMs` (this process's
 * start, moved forward as old ids are forgotten). A record observed after
 * that (less the allowed clock skew) cannot have been committed before it,
 * so memory alone decides; an older record, typically a batch that waited
 * in an agent's buffer, is looked up in storage, unless it was observed
 * after `forgottenSinceMs` and the Bloom filter of forgotten ids says it was
 * never committed. Ids being committed are claimed, so two copies arriving
 * together are never both written.
 */
export class RedeliveryFilter {
  private readonly committed = new Map<string, number>();
  /**
   * The remembered ids in commit order, a ring of maxRememberedIds + 1: the
   * oldest found through the Map's iterator walked every hole its deletes
   * leave, O(n) per forgotten id (60 µs a record past the bound).
   */
  private readonly order: string[];
  private oldest = 0;
  private readonly claims = new Map<string, Claim>();
  private coveredSinceMs: number;
  /** Every id committed since this and forgotten is in `forgotten`. */
  private forgottenSinceMs: number;
  private readonly forgotten: ForgottenIds;
  private readonly now: () => number;

  constructor(
    private readonly options: RedeliveryFilterOptions,
    private readonly parts: RedeliveryFilterParts,
  ) {
    this.now = parts.now ?? Date.now;
    // Memory covers every commit since this process started, or every commit there ever was.
    this.coveredSinceMs = options.storageEmptyAtStart ? 0 : this.now();
    this.forgottenSinceMs = this.coveredSinceMs;
    this.forgotten = new ForgottenIds(options.maxForgottenIds);
    this.order = new Array<string>(options.maxRememberedIds + 1);
  }

  get rememberedIds(): number {
    return this.committed.size;
  }

  async write(records: LogRecord[], receiver: string): Promise<void> {
    const keys = records.map(idKey);
    if (!keys.some((key) => key !== undefined)) return this.parts.write(records, receiver);
    // Wait, holding no claim, until no other write holds one of these ids: waiters never hold what others wait for.
    for (;;) {
      const others = new Set<Claim>();
      for (const key of keys) {
        const claim = key === undefined ? undefined : this.claims.get(key);
        if (claim) others.add(claim);
      }
      if (others.size === 0) break;
      await Promise.all(others);
    }
    let settle: (committed: boolean) => void = () => undefined;
    const mine: Claim = new Promise((resolve) => (settle = resolve));
    const claimed: string[] = [];
    const keep = new Array<boolean>(records.length).fill(true);
    const unsure: number[] = [];
    for (let i = 0; i < records.length; i++) {
      const key = keys[i];
      if (key === undefined) continue;
      // Already committed, or a second copy inside this request.
      if (this.committed.has(key) || this.claims.get(key) === mine) {
        keep[i] = false;
        continue;
      }
      this.claims.set(key, mine);
      claimed.push(key);
      const observedMs = Number(records[i].observedTimeUnixNano / 1_000_000n);
      if (observedMs >= this.coveredSinceMs + this.options.clockSkewMs) continue;
      if (observedMs >= this.forgottenSinceMs + this.options.clockSkewMs && !this.forgotten.mightHave(key)) continue;
      unsure.push(i);
    }
    let committed = false;
    try {
      if (unsure.length > 0) {
        const stored = await this.lookUp(records, unsure);
        for (const i of unsure) if (stored.has(keys[i]!)) keep[i] = false;
      }
      const kept = records.filter((_, i) => keep[i]);
      const dropped = records.length - kept.length;
      if (kept.length > 0) await this.parts.write(kept, receiver);
      committed = true;
      if (dropped > 0) this.parts.countDropped(receiver, dropped);
    } finally {
      for (const key of claimed) {
        this.claims.delete(key);
        if (committed) this.remember(key);
      }
      settle(committed);
    }
  }

  /** Stored ids among the unsure records, one query per tenant. */
  private async lookUp(records: LogRecord[], unsure: number[]): Promise<Set<string>> {
    const byTenant = new Map<string, number[]>();
    for (const i of unsure) {
      const indexes = byTenant.get(records[i].tenant);
      if (indexes) indexes.push(i);
      else byTenant.set(records[i].tenant, [i]);
    }
    const stored = new Set<string>();
    for (const [tenant, indexes] of byTenant) {
      let fromNs = records[indexes[0]].timeUnixNano;
      let toNs = fromNs;
      const services = new Set<string>();
      for (const i of indexes) {
        const time = records[i].timeUnixNano;
        if (time < fromNs) fromNs = time;
        if (time > toNs) toNs = time;
        services.add(records[i].serviceName);
      }
      const ids = indexes.map((i) => records[i].attributes[recordIdAttribute]);
      for (const id of await this.parts.storedIds({ tenant, services: [...services], fromNs, toNs, ids }))
        stored.add(`${tenant}\u0000${id}`);
    }
    return stored;
  }

  private remember(key: string): void {
    if (!this.committed.has(key)) this.order[(this.oldest + this.committed.size) % this.order.length] = key;
    this.committed.set(key, this.now());
    if (this.committed.size <= this.options.maxRememberedIds) return;
    const oldest = this.order[this.oldest];
    this.order[this.oldest] = '';
    this.oldest = (this.oldest + 1) % this.order.length;
    const committedAt = this.committed.get(oldest)!;
    this.committed.delete(oldest);
    // Everything committed after the forgotten id is still remembered.
    this.coveredSinceMs = Math.max(this.coveredSinceMs, committedAt);
    if (this.forgotten.isFull) {
      // The filter starts over: what it held is left to storage, like what memory forgets.
      this.forgotten.clear();
      this.forgottenSinceMs = this.coveredSinceMs;
    }
    this.forgotten.add(oldest);
  }
}

function idKey(record: LogRecord): string | undefined {
  const id = record.attributes[recordIdAttribute];
  return id === undefined || id === '' ? undefined : `${record.tenant}\u0000${id}`;
}
