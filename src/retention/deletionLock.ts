/**
 * Deletions (erasures, disposals) and live backups one at a time: a backup
 * never copies a chain event without the deletion it explains, or the reverse.
 */
export class DeletionLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(action: () => Promise<T>): Promise<T> {
    const result = this.tail.then(action);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
