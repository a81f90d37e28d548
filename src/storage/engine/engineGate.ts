/**
 * Lets every engine call through, except while the engine is swapped
 * (reopened with new storage keys): `exclusive` waits for the calls in
 * flight, holds new ones back, and lets them continue on the new engine.
 */
export class EngineGate {
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private held: Promise<void> | undefined;

  async run<T>(call: () => Promise<T>): Promise<T> {
    while (this.held) await this.held;
    this.inFlight++;
    try {
      return await call();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.held) await this.held;
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    try {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      return await work();
    } finally {
      this.held = undefined;
      release();
    }
  }
}
