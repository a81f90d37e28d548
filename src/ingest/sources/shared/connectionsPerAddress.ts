import type { Socket } from 'node:net';

/** How often refused connections are reported, at most. */
const reportIntervalMs = 60_000;

/**
 * Open connections per client address on one listener. The listener-wide
 * cap (`limits.max_connections_per_listener`) alone lets one client that
 * holds connections open (slowloris: a byte every few seconds resets any
 * idle timeout) take every slot; with this cap one address takes at most
 * `limits.max_connections_per_address`, and clients elsewhere keep theirs.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();
  private refused = 0;
  private reportedAt = 0;

  constructor(
    private readonly max: number,
    private readonly report: (refused: number, address: string, max: number) => void,
  ) {}

  /** Counts the connection until it closes; false (and the socket destroyed) when its address is at the cap. */
  admit(socket: Socket): boolean {
    if (this.max <= 0) return true;
    const address = socket.remoteAddress ?? '';
    const count = this.open.get(address) ?? 0;
    if (count >= this.max) {
      socket.on('error', () => undefined);
      socket.destroy();
      this.refused++;
      const now = Date.now();
      if (now - this.reportedAt >= reportIntervalMs) {
        this.report(this.refused, address, this.max);
        this.refused = 0;
        this.reportedAt = now;
      }
      return false;
    }
    this.open.set(address, count + 1);
    socket.once('close', () => {
      const left = (this.open.get(address) ?? 1) - 1;
      if (left <= 0) this.open.delete(address);
      else this.open.set(address, left);
    });
    return true;
  }
}
