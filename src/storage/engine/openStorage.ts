import type { Logger } from 'pino';
import type { Metrics } from '../../observability/metrics.js';
import { Storage } from './storage.js';

/** The config keys storage opens with, taken by shape (storage is below config/). */
export interface StorageSettings {
  data_dir: string;
  clickhouse_url?: string;
  clickhouse_cluster?: string;
  database: string;
  encryption: { enabled: boolean; key_file?: string };
  limits: { min_free_disk_bytes: number };
}

/** Runs `job` while no other node runs one of that name (a cluster's lease, see cluster/leases.ts). */
export type RunExclusive = <T>(name: string, job: () => Promise<T>) => Promise<T>;

/** What storage opens with besides its settings. */
export interface OpenStorageDeps {
  logger: Logger;
  /** A cluster's leases (cluster/leases.ts): a shared ClickHouse is migrated under one. */
  leases?: { exclusive: RunExclusive };
  /** Where the data disk's free bytes are published (meshlog_data_disk_free_bytes), when storage watches it. */
  metrics?: Metrics;
}

/**
 * Opens storage, running its migrations. A shared ClickHouse is migrated by
 * one node at a time (the others then find it done), so a node of a cluster
 * opens it under its `leases`; an embedded store only by its own node.
 */
export async function openStorage(settings: StorageSettings, deps: OpenStorageDeps): Promise<Storage> {
  const open = () =>
    Storage.open(
      {
        dataDir: settings.data_dir,
        clickhouseUrl: settings.clickhouse_url,
        clickhouseCluster: settings.clickhouse_cluster,
        database: settings.database,
        encryption: { enabled: settings.encryption.enabled, keyFile: settings.encryption.key_file },
        minFreeDiskBytes: settings.limits.min_free_disk_bytes,
      },
      deps.logger,
    );
  const { leases, metrics } = deps;
  const storage = leases && settings.clickhouse_url ? await leases.exclusive('job.schema-migrations', open) : await open();
  const diskGuard = storage.diskGuard;
  if (diskGuard && metrics) metrics.diskFree = () => diskGuard.freeBytes();
  return storage;
}
