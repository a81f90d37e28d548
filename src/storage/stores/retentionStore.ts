import { auditTenant } from '../../model/auditTenant.js';
import { Replica } from '../../model/replica.js';
import type { Storage } from '../engine/storage.js';
import type { LegalHold, RetentionRule } from '../../api/retention.js';

export type { LegalHold, RetentionRule } from '../../api/retention.js';

/** The key a record-level hold names a stored record by. */
export const heldRecordKey = (chainId: string, batchSeq: number, batchPos: number) => `${chainId}#${batchSeq}#${batchPos}`;

/** Records of one batch that one policy expired: the disposal evidence, taken before deleting. */
export interface ExpiredBatch {
  chain_id: string;
  batch_seq: number;
  policy: string;
  positions: number[];
}

/**
 * The SQL of retention: which records a policy has expired (first matching
 * rule wins), minus everything under an active legal hold. Values are
 * parameters, never spliced into the SQL.
 */
export function expiredCondition(
  rules: RetentionRule[],
  fallback: RetentionRule,
  holds: LegalHold[],
  params: Record<string, unknown>,
): { expired: string; policy: string } {
  const branches: string[] = [];
  const names: string[] = [];
  rules.forEach((rule, i) => {
    const parts: string[] = [];
    if (rule.tenant) {
      parts.push(`tenant = {r${i}_tenant:String}`);
      params[`r${i}_tenant`] = rule.tenant;
    }
    if (rule.service) {
      parts.push(`service_name = {r${i}_service:String}`);
      params[`r${i}_service`] = rule.service;
    }
    if (rule.maxSeverity !== undefined) {
      parts.push(`severity_number <= {r${i}_severity:UInt8}`);
      params[`r${i}_severity`] = rule.maxSeverity;
    }
    params[`r${i}_age`] = rule.maxAgeSeconds;
    params[`r${i}_name`] = rule.name;
    const when = parts.length > 0 ? parts.join(' AND ') : '1';
    branches.push(`${when}, {r${i}_age:UInt64}`);
    names.push(`${when}, {r${i}_name:String}`);
  });
  params.fallback_age = fallback.maxAgeSeconds;
  params.fallback_name = fallback.name;
  const age = branches.length > 0 ? `multiIf(${branches.join(', ')}, {fallback_age:UInt64})` : '{fallback_age:UInt64}';
  const policy = names.length > 0 ? `multiIf(${names.join(', ')}, {fallback_name:String})` : '{fallback_name:String}';
  const held = heldCondition(holds, params);
  const expired = `timestamp < fromUnixTimestamp64Nano({now:Int64}) - toIntervalSecond(${age})${held ? ` AND NOT ${held}` : ''}`;
  return { expired, policy };
}

/** Records any of these legal holds covers (`h<i>_…` parameters), or undefined when there are none. */
export function heldCondition(holds: LegalHold[], params: Record<string, unknown>): string | undefined {
  const held = holds.map((hold, i) => {
    params[`h${i}_tenant`] = hold.tenant;
    if (hold.records) {
      params[`h${i}_records`] = hold.records;
      return `(tenant = {h${i}_tenant:String} AND has({h${i}_records:Array(String)}, concat(chain_id, '#', toString(batch_seq), '#', toString(batch_pos))))`;
    }
    params[`h${i}_service`] = hold.service;
    params[`h${i}_from`] = hold.from_time ?? '1900-01-01 00:00:00';
    params[`h${i}_to`] = hold.to_time ?? '2262-01-01 00:00:00';
    return `(tenant = {h${i}_tenant:String} AND ({h${i}_service:String} = '' OR service_name = {h${i}_service:String})
             AND timestamp BETWEEN parseDateTime64BestEffort({h${i}_from:String}, 9) AND parseDateTime64BestEffort({h${i}_to:String}, 9))`;
  });
  return held.length > 0 ? `(${held.join(' OR ')})` : undefined;
}

/** A hold as stored: the latest version of its id wins (placed, then released). */
export type VersionedHold = LegalHold & { version: number };

export class RetentionStore {
  /**
   * The link to the other nodes of a cluster of embedded stores: a hold
   * placed or released through one node is in force on every node. The
   * version travels with the hold, so a node's own change coming back from
   * the bucket replaces nothing newer.
   */
  readonly holdReplica = new Replica<VersionedHold>((hold) => this.insertHold(hold));

  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  /**
   * Disposes of every record past its policy and not on hold, as of `nowNs`:
   * the expired records are listed per batch first, `recordEvidence` stores
   * that list, and only then are exactly those records deleted.
   */
  async dispose(
    options: { rules: RetentionRule[]; fallback: RetentionRule; audit: RetentionRule; holds: LegalHold[]; nowNs: bigint },
    recordEvidence: (batches: ExpiredBatch[]) => Promise<void>,
  ): Promise<ExpiredBatch[]> {
    const params: Record<string, unknown> = { now: options.nowNs.toString() };
    const { expired, policy } = expiredCondition(
      [{ ...options.audit, tenant: auditTenant }, ...options.rules],
      options.fallback,
      options.holds,
      params,
    );
    const batches = await this.storage.rows<ExpiredBatch>(
      `SELECT chain_id, batch_seq, ${policy} AS policy, groupArray(batch_pos) AS positions
       FROM ${this.db}.logs WHERE ${expired}
       GROUP BY chain_id, batch_seq, policy ORDER BY chain_id, batch_seq, policy`,
      params,
      { output_format_json_quote_64bit_integers: 0 },
    );
    if (batches.length === 0) return batches;
    await recordEvidence(batches);
    // Only the batches just recorded: a batch committed meanwhile waits for the next run.
    await this.storage.client.command({
      query: `DELETE FROM ${this.db}.logs WHERE ${expired}
              AND has(arrayZip({chains:Array(String)}, {seqs:Array(UInt64)}), (chain_id, batch_seq))`,
      query_params: { ...params, chains: batches.map((batch) => batch.chain_id), seqs: batches.map((batch) => batch.batch_seq) },
      clickhouse_settings: { mutations_sync: '2' },
    });
    return batches;
  }

  async holds(): Promise<LegalHold[]> {
    return this.storage.rows<LegalHold>(
      `SELECT id, name, tenant, service, toString(from_time) AS from_time, toString(to_time) AS to_time, reason, created_by,
              toString(created_at) AS created_at, toString(released_at) AS released_at, released_by
       FROM ${this.db}.legal_holds FINAL ORDER BY created_at`,
    );
  }

  async saveHold(hold: LegalHold): Promise<void> {
    const versioned = { ...hold, version: Date.now() };
    await this.insertHold(versioned);
    await this.holdReplica.send(versioned);
  }

  private async insertHold(hold: VersionedHold): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.legal_holds`,
      format: 'JSONEachRow',
      values: [hold],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }
}
