import type { Storage } from '../engine/storage.js';

/** Where stored copies of some records would be: one tenant, their services, their time range. */
export interface RecordIdQuery {
  tenant: string;
  services: string[];
  fromNs: bigint;
  toNs: bigint;
  ids: string[];
}

/**
 * Which record ids (`log.record.uid`) are already stored. The tenant, services
 * and time range of the candidates narrow the read to the primary key's
 * ranges (tenant, service_name, timestamp): a redelivered record is stored
 * with the same service and timestamp as its first copy.
 */
export class RecordIdStore {
  constructor(private readonly storage: Storage) {}

  /** Whether any log record is stored at all (an empty store holds no earlier copy of anything). */
  async anyStored(): Promise<boolean> {
    const rows = await this.storage.rows<{ one: number }>(`SELECT 1 AS one FROM ${this.storage.database}.logs LIMIT 1`);
    return rows.length > 0;
  }

  async storedIds(query: RecordIdQuery): Promise<Set<string>> {
    const rows = await this.storage.rows<{ uid: string }>(
      `SELECT DISTINCT log_attributes['log.record.uid'] AS uid
       FROM ${this.storage.database}.logs
       WHERE tenant = {tenant:String} AND service_name IN {services:Array(String)}
         AND timestamp >= fromUnixTimestamp64Nano({from:Int64}) AND timestamp <= fromUnixTimestamp64Nano({to:Int64})
         AND has({ids:Array(String)}, log_attributes['log.record.uid'])`,
      { tenant: query.tenant, services: query.services, from: query.fromNs.toString(), to: query.toNs.toString(), ids: query.ids },
    );
    return new Set(rows.map((row) => row.uid));
  }
}
