import type { Logger } from 'pino';
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

/**
 * Opens storage, running its migrations. A shared ClickHouse is migrated by
 * one node at a time (the others then find it done), so a node of a cluster
 * opens it under `exclusive`; an embedded store only by its own node.
 */
export function openStorage(settings: StorageSettings, logger: Logger, exclusive?: RunExclusive): Promise<Storage> {
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
      logger,
    );
  return exclusive && settings.clickhouse_url ? exclusive('job.schema-migrations', open) : open();
}
