/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`.
 * A take larger than the burst is granted from a full bucket and leaves a
 * debt, so one big batch is never refused forever, only paid for after.
 */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private ratePerSecond: number,
    private burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.updatedMs = nowMs;
  }

  /** Takes `count` tokens and returns 0, or takes nothing and returns the milliseconds until it would succeed. */
  take(count: number, nowMs: number): number {
    this.refill(nowMs);
    const needed = Math.min(count, this.burst);
    if (this.tokens >= needed) {
      this.tokens -= count;
      return 0;
    }
    return Math.ceil(((needed - this.tokens) / this.ratePerSecond) * 1000);
  }

  /**
   * Changes the rate and the burst from now on (a cluster node's share of a
   * limit, when nodes come or go): what was refilled at the old rate stays,
   * up to the new burst.
   */
  resize(ratePerSecond: number, burst: number, nowMs: number): void {
    this.refill(nowMs);
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** True once the bucket is back to full: it holds no state worth keeping. */
  isFull(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens >= this.burst;
  }

  private refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.updatedMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.ratePerSecond);
    this.updatedMs = nowMs;
  }
}
