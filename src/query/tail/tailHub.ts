import type { LogRecord } from '../../model/logRecord.js';
import type { TailFilter, TailLine } from './tailFilter.js';

/** What a subscriber takes at once: lines in commit order, and how many it lost since it last took. */
export interface TailBatch {
  lines: TailLine[];
  dropped: number;
}

/**
 * One live-tail subscriber: a bounded buffer between the commit path and a
 * connection. Publishing never waits for the reader; when the buffer is full
 * new lines are counted as dropped instead.
 */
export class TailSubscription {
  private buffer: TailLine[] = [];
  private dropped = 0;
  private waiter: (() => void) | undefined;
  closed = false;

  constructor(
    /** One tenant, or a multi-tenant tail's tenants. */
    readonly tenants: readonly string[],
    private readonly filter: TailFilter,
    private readonly bufferLines: number,
    private readonly onClose: (subscription: TailSubscription) => void,
  ) {}

  /** Called on the commit side: filter, then buffer or count as dropped. */
  offer(record: LogRecord): void {
    const line = this.filter(record);
    if (!line) return;
    if (this.buffer.length >= this.bufferLines) this.dropped++;
    else this.buffer.push(line);
    this.wake();
  }

  /** Resolves when there is something to take or the subscription closed. */
  async next(): Promise<TailBatch | undefined> {
    while (!this.closed && this.buffer.length === 0 && this.dropped === 0) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    if (this.closed) return undefined;
    const batch = { lines: this.buffer, dropped: this.dropped };
    this.buffer = [];
    this.dropped = 0;
    return batch;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/** Where committed records come from (the writer's onCommitted): returns the unsubscribe function. */
export type CommittedSource = (listener: (records: LogRecord[]) => void) => () => void;

/**
 * Fans committed records out to live-tail subscribers of their tenant. It
 * listens to the writer only while someone tails, so ingest pays nothing otherwise.
 */
export class TailHub {
  private readonly byTenant = new Map<string, Set<TailSubscription>>();
  private count = 0;
  private detach: (() => void) | undefined;

  constructor(
    private readonly source: CommittedSource,
    private readonly options: { bufferLines: number; maxSubscribers: number },
  ) {}

  get subscribers(): number {
    return this.count;
  }

  /** Undefined when the hub is full: the caller refuses the request. */
  subscribe(tenants: readonly string[], filter: TailFilter): TailSubscription | undefined {
    if (this.count >= this.options.maxSubscribers) return undefined;
    const subscription = new TailSubscription(tenants, filter, this.options.bufferLines, (closed) => {
      for (const tenant of closed.tenants) {
        const set = this.byTenant.get(tenant);
        set?.delete(closed);
        if (set?.size === 0) this.byTenant.delete(tenant);
      }
      this.count--;
      if (this.count === 0) {
        this.detach?.();
        this.detach = undefined;
      }
    });
    for (const tenant of tenants) {
      let set = this.byTenant.get(tenant);
      if (!set) {
        set = new Set();
        this.byTenant.set(tenant, set);
      }
      set.add(subscription);
    }
    this.count++;
    this.detach ??= this.source((records) => this.publish(records));
    return subscription;
  }

  private publish(records: LogRecord[]): void {
    for (const record of records) {
      const subscribers = this.byTenant.get(record.tenant);
      if (subscribers) for (const subscription of subscribers) subscription.offer(record);
    }
  }

  /** Ends every subscription (server stopping). */
  close(): void {
    for (const set of [...this.byTenant.values()]) for (const subscription of [...set]) subscription.close();
  }
}
