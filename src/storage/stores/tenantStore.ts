import type { Storage } from '../engine/storage.js';
import type { Tenant } from '../../api/tenants.js';

/** A tenant as stored is the API's tenant (src/api/tenants.ts). */
export type StoredTenant = Tenant;

/** The tenant registry in ClickHouse: one row per change, the newest version of a tenant wins. */
export class TenantStore {
  constructor(private readonly storage: Storage) {}

  async tenants(): Promise<StoredTenant[]> {
    return this.storage.rows<StoredTenant>(
      `SELECT name, description, state, created_by, toString(created_at) AS created_at, changed_by, toString(changed_at) AS changed_at
       FROM ${this.storage.database}.tenants FINAL ORDER BY name`,
    );
  }

  async save(tenant: StoredTenant): Promise<void> {
    await this.storage.client.insert({
      table: `${this.storage.database}.tenants`,
      format: 'JSONEachRow',
      values: [{ ...tenant, version: Date.now() }],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }
}
