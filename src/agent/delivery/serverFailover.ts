/**
 * The endpoints batches can go to: the same path on each of several meshlog
 * nodes (a cluster: any node takes any batch). Every request goes to the
 * current one; when a request to it fails in a way another node may not
 * (no connection, timeout, 5xx, 429), the next request goes to the next
 * one, round robin. A retried batch is the same bytes, so the same record
 * ids, wherever it lands: the cluster stores it once.
 */
export class ServerFailover {
  private current = 0;

  constructor(readonly urls: string[]) {
    if (urls.length === 0) throw new Error('no server to send to');
  }

  get url(): string {
    return this.urls[this.current];
  }

  /**
   * A request to `url` failed: moves on to the next server, unless another
   * request's failure already did (concurrent batches failing together move
   * once). Returns the new current server when it changed.
   */
  failed(url: string): string | undefined {
    if (this.urls.length < 2 || url !== this.url) return undefined;
    this.current = (this.current + 1) % this.urls.length;
    return this.url;
  }
}
