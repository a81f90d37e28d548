import type { StreamPositionStore } from '../storage/logs/streamPositionStore.js';

const none: ReadonlySet<number> = new Set();

/**
 * Which records of a delivered stream message this node committed already.
 * A message can come back after its commit when the node died (or its
 * acknowledgement was lost) in between; its rows carry their stream
 * position, so storage answers exactly. Only messages that may have been
 * committed are looked up: those delivered before (redelivered), and those
 * at or below the highest sequence stored when this node started (a
 * consumer created again replays the stream with fresh delivery counts).
 * Lookups that arrive together (a restart redelivers up to max_ack_pending
 * messages at once) share one query.
 */
export class CommittedRecords {
  /** Deliveries of a message this process is handling, by stream sequence: a redelivery waits for the one before it. */
  private readonly handling = new Map<number, Promise<void>>();
  private waiting = new Map<number, { resolve: (positions: ReadonlySet<number>) => void; reject: (error: Error) => void }[]>();
  private lookupScheduled = false;

  private constructor(
    private readonly store: StreamPositionStore,
    private readonly storedUpToAtStart: number,
  ) {}

  static async open(store: StreamPositionStore): Promise<CommittedRecords> {
    return new CommittedRecords(store, await store.highestSeq());
  }

  /**
   * Runs `handle` for one delivery of message `seq` with the positions of it
   * already stored on this node, once any earlier delivery of it in this
   * process has settled (a message redelivered while its first commit still
   * runs must see that commit).
   */
  async handle(seq: number, redelivered: boolean, handle: (stored: ReadonlySet<number>) => Promise<void>): Promise<void> {
    await this.inTurn(seq, async (afterEarlier) => {
      const mayBeStored = redelivered || afterEarlier || seq <= this.storedUpToAtStart;
      await handle(mayBeStored ? await this.storedPositions(seq) : none);
    });
  }

  /**
   * Runs `run` for one delivery of message `seq` once any earlier delivery
   * of it in this process has settled (`afterEarlier`: there was one),
   * looking nothing up: a span message's rows are not in `logs`, so the
   * stored positions of its sequence would only cost a query.
   */
  async inTurn(seq: number, run: (afterEarlier: boolean) => Promise<void>): Promise<void> {
    const earlier = this.handling.get(seq);
    const mine = (async () => {
      if (earlier) await earlier.catch(() => undefined);
      await run(earlier !== undefined);
    })();
    this.handling.set(seq, mine);
    try {
      await mine;
    } finally {
      if (this.handling.get(seq) === mine) this.handling.delete(seq);
    }
  }

  private storedPositions(seq: number): Promise<ReadonlySet<number>> {
    return new Promise((resolve, reject) => {
      const waiters = this.waiting.get(seq);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(seq, [{ resolve, reject }]);
      if (!this.lookupScheduled) {
        this.lookupScheduled = true;
        setImmediate(() => void this.lookUp());
      }
    });
  }

  private async lookUp(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    this.lookupScheduled = false;
    try {
      const stored = await this.store.storedPositions([...batch.keys()]);
      for (const [seq, waiters] of batch) for (const waiter of waiters) waiter.resolve(stored.get(seq) ?? none);
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error as Error);
    }
  }
}
