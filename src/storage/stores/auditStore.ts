import { auditTenant } from '../../model/auditTenant.js';
import type { Storage } from '../engine/storage.js';
import type { AuditEventRow } from '../../api/audit.js';

/** An audit event as read back is the API's row (src/api/audit.ts). */
export type StoredAuditEvent = AuditEventRow;

/** Reads the audit trail: records of the reserved audit tenant, newest first (the filters name l.… because the output aliases shadow columns). */
export class AuditStore {
  constructor(private readonly storage: Storage) {}

  async events(filter: {
    sinceNs: bigint;
    untilNs?: bigint;
    action?: string;
    actor?: string;
    outcome?: string;
    limit: number;
    /** Only events of these tenants; absent = every event. */ tenants?: string[];
    /** Oldest first, from this many on (population exports page through a period this way). */ oldestFirstFrom?: number;
  }): Promise<StoredAuditEvent[]> {
    const order = filter.oldestFirstFrom === undefined ? 'DESC' : 'ASC';
    return this.storage.rows<StoredAuditEvent>(
      `SELECT concat(replace(toString(timestamp), ' ', 'T'), 'Z') AS time, log_attributes['audit.action'] AS action, log_attributes['audit.outcome'] AS outcome,
              log_attributes['audit.actor.id'] AS actor_id, log_attributes['audit.actor.name'] AS actor_name,
              log_attributes['audit.actor.kind'] AS actor_kind, log_attributes['audit.remote_address'] AS remote_address,
              log_attributes['audit.tenant'] AS tenant, log_attributes['audit.target'] AS target, log_attributes['audit.detail'] AS detail
       FROM ${this.storage.database}.logs AS l
       WHERE l.tenant = {tenant:String} AND l.timestamp >= fromUnixTimestamp64Nano({since:Int64})
         AND ({until:Int64} = 0 OR l.timestamp <= fromUnixTimestamp64Nano({until:Int64}))
         AND ({action:String} = '' OR startsWith(log_attributes['audit.action'], {action:String}))
         AND ({actor:String} = '' OR log_attributes['audit.actor.id'] = {actor:String} OR log_attributes['audit.actor.name'] = {actor:String})
         AND ({outcome:String} = '' OR log_attributes['audit.outcome'] = {outcome:String})
         AND ({all_tenants:Bool} OR has({tenants:Array(String)}, log_attributes['audit.tenant']))
       ORDER BY timestamp ${order}, l.batch_seq ${order}, l.batch_pos ${order} LIMIT {limit:UInt32} OFFSET {offset:UInt64}`,
      {
        tenant: auditTenant,
        since: filter.sinceNs.toString(),
        until: (filter.untilNs ?? 0n).toString(),
        action: filter.action ?? '',
        actor: filter.actor ?? '',
        outcome: filter.outcome ?? '',
        limit: filter.limit,
        offset: filter.oldestFirstFrom ?? 0,
        all_tenants: filter.tenants === undefined,
        tenants: filter.tenants ?? [],
      },
    );
  }
}
