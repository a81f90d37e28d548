import { setImmediate as nextTurn } from 'node:timers/promises';
import { MeshlogError } from '../../errors.js';

/** Why a query stopped before its end. */
export type CancelReason = 'timeout' | 'client_closed' | 'shutdown';

/** Longest stretch of query work in JavaScript between two turns of the event loop. */
export const querySliceMs = 5;

/**
 * One query's deadline and cancellation, and the slices its JavaScript work is
 * cut into. The engine calls `due()` in its loops and, when a slice has run
 * `querySliceMs`, awaits `yield()`: the event loop turns (ingest, /ready,
 * signals are served) and the query stops there if it was cancelled: past its
 * deadline (ML_QUERY_TIMEOUT, 504), its client gone, or the server stopping.
 * `signal` is handed to the storage client so the SQL part stops too.
 */
export class QueryBudget {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly deadline: number;
  private sliceStart = performance.now();
  private calls = 0;
  /** Set once the query stopped early. */
  cancelled: CancelReason | undefined;

  constructor(
    readonly timeoutMs: number,
    private readonly onCancel?: (reason: CancelReason) => void,
  ) {
    this.deadline = performance.now() + timeoutMs;
    this.timer = setTimeout(() => this.cancel('timeout'), timeoutMs);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Milliseconds left before the deadline (0 once past it). */
  remainingMs(): number {
    return Math.max(0, this.deadline - performance.now());
  }

  cancel(reason: CancelReason): void {
    if (this.controller.signal.aborted) return;
    this.cancelled = reason;
    clearTimeout(this.timer);
    const error =
      reason === 'timeout'
        ? new MeshlogError('ML_QUERY_TIMEOUT', `the query ran longer than query.timeout (${this.timeoutMs} ms)`)
        : reason === 'shutdown'
          ? new MeshlogError('ML_SHUTTING_DOWN')
          : new MeshlogError('ML_QUERY_CANCELLED', 'the client closed the connection');
    this.controller.abort(error);
    this.onCancel?.(reason);
  }

  /** Throws why the query was cancelled, if it was. */
  check(): void {
    if (this.controller.signal.aborted) throw this.controller.signal.reason as MeshlogError;
  }

  /** Whether the current slice has run its time: cheap, reads the clock every 16th call. */
  due(): boolean {
    if ((++this.calls & 15) !== 0 && !this.controller.signal.aborted) return false;
    return this.controller.signal.aborted || performance.now() - this.sliceStart >= querySliceMs;
  }

  /** Lets the event loop turn, then goes on unless the query was cancelled meanwhile. */
  async yield(): Promise<void> {
    this.check();
    await nextTurn();
    this.sliceStart = performance.now();
    this.check();
  }

  /** The query ended: the deadline timer stops. */
  dispose(): void {
    clearTimeout(this.timer);
  }
}

/**
 * The server's queries: each gets a budget of `query.timeout`, and a stop
 * cancels the ones still running so a SIGTERM is not held up by them.
 */
export class QueryBudgets {
  private readonly live = new Set<QueryBudget>();
  private stopping = false;

  constructor(
    readonly timeoutMs: number,
    private readonly onCancel?: (reason: CancelReason) => void,
  ) {}

  /** A budget for one query; `release` it when the query ends. */
  open(): QueryBudget {
    const budget = new QueryBudget(this.timeoutMs, this.onCancel);
    if (this.stopping) budget.cancel('shutdown');
    else this.live.add(budget);
    return budget;
  }

  release(budget: QueryBudget): void {
    budget.dispose();
    this.live.delete(budget);
  }

  /** Runs `work` under a fresh budget, released when it settles. */
  async run<T>(work: (budget: QueryBudget) => Promise<T>): Promise<T> {
    const budget = this.open();
    try {
      return await work(budget);
    } finally {
      this.release(budget);
    }
  }

  /** Cancels every running query (the server is stopping) and every later one. */
  shutdown(): void {
    this.stopping = true;
    for (const budget of this.live) budget.cancel('shutdown');
    this.live.clear();
  }
}
