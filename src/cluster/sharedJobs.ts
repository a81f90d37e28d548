import type { Leases } from './leases.js';

/** Runs a scheduled job (retention, erasure, monthly report) the way the deployment needs; resolves when it ran or was left to another node. */
export type RunJob = (name: string, job: () => Promise<unknown>) => Promise<unknown>;

/**
 * Jobs that act on the store: with a shared ClickHouse (`clickhouse_url`)
 * every node sees the same tables, so each run takes a lease and runs on one
 * node; with embedded stores each node holds its own full copy, which only it
 * can sweep, so every node runs the job on its own copy (no lease).
 */
export function storeJobs(leases: Leases | undefined, sharedStore: boolean): RunJob {
  if (!leases || !sharedStore) return (_name, job) => job();
  return (name, job) => leases.runOnce(`job.${name}`, job);
}

/**
 * What every node computes alike from the whole stream (anomaly detectors)
 * but only one may send: each value is acted on only by the node holding the
 * lease, right after renewing it (the fencing check); the others drop it.
 * Without leases (one node) every value is acted on.
 */
export function oneNodeActs<T>(leases: Leases | undefined, name: string, act: (value: T) => void): (value: T) => Promise<void> {
  if (!leases) return async (value) => act(value);
  let queue: Promise<void> = Promise.resolve();
  return (value) => {
    // In order: a resolution never overtakes the firing it ends.
    // One value that fails to be acted on must not stop every later one (a rejected queue would).
    queue = queue
      .then(async () => {
        if (await leases.acquire(name).catch(() => undefined)) act(value);
      })
      .catch(() => undefined);
    return queue;
  };
}
