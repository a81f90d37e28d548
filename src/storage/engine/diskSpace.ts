import { statfsSync } from 'node:fs';
import { MeshlogError } from '../../errors.js';

/** What a refused client is told to wait before retrying. */
const retryAfterSeconds = 5;

/**
 * Refuses writes to the embedded engine before the data directory's file
 * system runs out of space. A write that meets ENOSPC inside chDB holds the
 * engine's lock until space frees (observed: tens of seconds, during which
 * no query answers either), so meshlog must never let one start: ingest is
 * refused (503, retryable, Retry-After) once free space drops below
 * `limits.min_free_disk_bytes`; meshlog's own small writes (its audit trail,
 * seals, admin state) may use a quarter of that reserve before they are
 * refused too. Queries never write, so they keep answering.
 */
export class DiskSpaceGuard {
  /** Date.now() when a write last found less free than the ingest floor. */
  private lowAt = 0;

  constructor(
    readonly path: string,
    readonly minFreeBytes: number,
  ) {}

  /**
   * Bytes available to meshlog on the data directory's file system, looked
   * at on every write: statfs costs about a microsecond, and a cached answer
   * would let writes through for a while after another process took the
   * last bytes.
   */
  freeBytes(): number {
    const stats = statfsSync(this.path);
    return Number(stats.bavail) * Number(stats.bsize);
  }

  /** The floor below which writes of this kind are refused. */
  floor(kind: 'ingest' | 'internal'): number {
    return kind === 'ingest' ? this.minFreeBytes : Math.floor(this.minFreeBytes / 4);
  }

  /** Why writes of this kind are refused now, or undefined while there is room. */
  refusal(kind: 'ingest' | 'internal'): string | undefined {
    if (this.minFreeBytes <= 0) return undefined;
    const free = this.freeBytes();
    if (free < this.minFreeBytes) this.lowAt = Date.now();
    const floor = this.floor(kind);
    if (free >= floor) return undefined;
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    return `data disk nearly full: ${mib(free)} free in ${this.path}, ${kind === 'ingest' ? 'ingest' : 'internal writes'} need at least ${mib(floor)} (limits.min_free_disk_bytes); writes resume once space frees`;
  }

  /** Whether a write found the disk below the ingest floor at or after `since` (ms): the disk may have filled and freed between two looks. */
  lowSeenSince(since: number): boolean {
    return this.lowAt >= since;
  }

  /** Throws a retryable ML_UNAVAILABLE while writes of this kind are refused. */
  check(kind: 'ingest' | 'internal'): void {
    const reason = this.refusal(kind);
    if (reason !== undefined) throw new MeshlogError('ML_UNAVAILABLE', reason, { retryAfterSeconds });
  }
}
