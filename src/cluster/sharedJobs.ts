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
