import type { ClickHouseSettings } from '@clickhouse/client';
import { auditTenant } from '../../model/auditTenant.js';
import { cloudPlatforms, kubernetesAttributes } from '../../model/platform.js';
import { expiredCondition, type LegalHold, type RetentionRule } from './retentionStore.js';
import type { Storage } from '../engine/storage.js';
import type { RecordedQuery, ServiceCoverageRow } from '../../api/reports.js';

export type { RecordedQuery, ServiceCoverageRow } from '../../api/reports.js';

/** A stored time as UTC ISO 8601 with `Z` (ClickHouse prints `YYYY-MM-DD hh:mm:ss.fff`). */
const isoTime = (expression: string) => `concat(replace(toString(${expression}), ' ', 'T'), 'Z')`;

/** A report period in Unix nanoseconds (both ends inclusive) and an optional tenant ('' = every tenant). */
export interface CompliancePeriod {
  fromNs: bigint;
  toNs: bigint;
  tenant: string;
}

export interface DailyVolumeRow {
  day: string;
  tenant: string;
  records: number;
}

export interface ServiceHoursRow {
  tenant: string;
  service: string;
  /** Unix seconds of every hour that holds at least one record. */
  hours: number[];
}

export interface ReadsRow {
  actor_id: string;
  actor_name: string;
  actor_kind: string;
  action: string;
  tenant: string;
  outcome: string;
  requests: number;
  first: string;
  last: string;
}

export interface ChainHeadRow {
  chain_id: string;
  tenant: string;
  head_seq: number;
  head_hash: string;
  first_commit: string;
  last_commit: string;
}

export interface AlertRuleGroupRow {
  tenant: string;
  namespace: string;
  name: string;
}

export interface CountRow {
  name: string;
  status: string;
  count: number;
}

/** What became of one notification attempt (the alerting module records silenced alerts as attempts to `silenced by <id>`). */
const notificationOutcome = `multiIf(startsWith(receiver, 'silenced by'), 'silenced', error = '' AND http_status BETWEEN 200 AND 299, 'delivered', 'failed')`;

export interface DisposedBatchRow {
  chain_id: string;
  tenant: string;
  batch_seq: number;
  detail: string;
  at: string;
}

export interface OverdueRow {
  tenant: string;
  policy: string;
  records: number;
  oldest: string;
}

export interface TableUseRow {
  table: string;
  disk: string;
  rows: number;
  bytes_on_disk: number;
  uncompressed_bytes: number;
}

export interface DiskRow {
  name: string;
  type: string;
  is_encrypted: number;
  free_space: number;
  total_space: number;
  keep_free_space: number;
}

/** Numbers as JSON numbers (counts fit), not quoted 64-bit strings. */
/** A silence in force during the period, as it stood at the period's end, with the notifications it held back in it. */
export interface SilenceRow {
  tenant: string;
  id: string;
  matchers: Record<string, string>;
  starts_at: string;
  ends_at: string;
  created_by: string;
  comment: string;
  hours: number;
  notifications_held: number;
}

export interface AcknowledgementRow {
  tenant: string;
  name: string;
  fingerprint: string;
  fired_at: string;
  acknowledged_by: string | null;
  seconds_to_acknowledge: number | null;
}

/** The platform of a record from its resource attributes: model/platform.ts's rule (platformOf), in SQL built from its table. */
const resourcePlatform = ((): string => {
  const cloud = "l.resource_attributes['cloud.platform']";
  const quoted = (values: string[]) => `[${values.map((value) => `'${value}'`).join(', ')}]`;
  const known = `transform(${cloud}, ${quoted(Object.keys(cloudPlatforms))}, ${quoted(Object.values(cloudPlatforms))}, '')`;
  const pod = kubernetesAttributes.map((name) => `mapContains(l.resource_attributes, '${name}')`).join(' OR ');
  return `multiIf(${known} != '', ${known}, ${pod}, 'kubernetes', mapContains(l.resource_attributes, 'cloud.platform') OR mapContains(l.resource_attributes, 'host.name'), 'vm', '')`;
})();

const plainNumbers = { output_format_json_quote_64bit_integers: 0 } as const;

/**
 * The read-only questions a SOC 2 report asks of storage: what logged,
 * how much, when it was silent, who read what, where the chains stand,
 * and what the alerting tables hold (when they exist).
 */
export class ComplianceQueries {
  constructor(
    private readonly storage: Storage,
    private readonly log?: RecordedQuery[],
  ) {}

  /** The same queries, each one also appended to `log` as it runs. */
  recordingInto(log: RecordedQuery[]): ComplianceQueries {
    return new ComplianceQueries(this.storage, log);
  }

  private get db(): string {
    return this.storage.database;
  }

  private rows<T>(sql: string, params: Record<string, unknown> = {}, settings?: ClickHouseSettings): Promise<T[]> {
    this.log?.push({ sql: sql.replace(/\s+/g, ' ').trim(), params });
    return this.storage.rows<T>(sql, params, settings);
  }

  private params(period: CompliancePeriod): Record<string, string> {
    return { from: period.fromNs.toString(), to: period.toNs.toString(), tenant: period.tenant };
  }

  /** Client logs in the period: reserved `_…` tenants (the audit trail) are meshlog's own, not coverage. */
  private readonly logsInPeriod = `l.timestamp BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
    AND NOT startsWith(l.tenant, '_') AND ({tenant:String} = '' OR l.tenant = {tenant:String})`;

  /**
   * Values redacted per rule in the period, counted in the stored records: each
   * `[REDACTED:<rule>…]` in a body or log attribute (redact mode), and each rule
   * a record's `meshlog.sensitive` mark names (observe mode). Stored data, so
   * a restart resets nothing and a closed period always counts the same.
   */
  async storedRedactions(period: CompliancePeriod): Promise<{ rule: string; values: number }[]> {
    return this.rows<{ rule: string; values: number }>(
      `SELECT rule, count() AS values FROM (
         SELECT arrayJoin(arrayConcat(
                  extractAll(concat(l.body, ' ', arrayStringConcat(mapValues(l.log_attributes), ' ')), '\\[REDACTED:([A-Za-z0-9_.-]+)'),
                  arrayFilter(rule -> rule != '', splitByChar(',', l.log_attributes['meshlog.sensitive'])))) AS rule
         FROM ${this.db}.logs AS l WHERE ${this.logsInPeriod}
           AND (position(l.body, '[REDACTED:') > 0 OR l.log_attributes['meshlog.sensitive'] != '' OR arrayExists(value -> position(value, '[REDACTED:') > 0, mapValues(l.log_attributes))))
       GROUP BY rule ORDER BY rule`,
      this.params(period),
      plainNumbers,
    );
  }

  /**
   * Services with where they ran. Parsed mesh lines carry platform and cluster
   * columns; every other record carries them only as resource attributes, so
   * those fill in where the column is empty.
   */
  async serviceCoverage(period: CompliancePeriod): Promise<ServiceCoverageRow[]> {
    const values = (expression: string) => `arraySort(arrayFilter(value -> value != '', groupUniqArray(${expression})))`;
    return this.rows<ServiceCoverageRow>(
      `SELECT l.tenant AS tenant, l.service_name AS service, count() AS records,
              ${values(`if(l.platform != '', l.platform, ${resourcePlatform})`)} AS platforms,
              ${values(`if(l.cluster != '', l.cluster, l.resource_attributes['k8s.cluster.name'])`)} AS clusters,
              ${values('l.mesh')} AS meshes, ${values('l.receiver')} AS receivers,
              ${isoTime('min(l.timestamp)')} AS first_seen, ${isoTime('max(l.timestamp)')} AS last_seen
       FROM ${this.db}.logs AS l WHERE ${this.logsInPeriod}
       GROUP BY l.tenant, l.service_name ORDER BY tenant, service`,
      this.params(period),
      plainNumbers,
    );
  }

  async dailyVolume(period: CompliancePeriod): Promise<DailyVolumeRow[]> {
    return this.rows<DailyVolumeRow>(
      `SELECT toString(toDate(l.timestamp)) AS day, l.tenant AS tenant, count() AS records
       FROM ${this.db}.logs AS l WHERE ${this.logsInPeriod}
       GROUP BY day, l.tenant ORDER BY day, tenant`,
      this.params(period),
      plainNumbers,
    );
  }

  async serviceHours(period: CompliancePeriod): Promise<ServiceHoursRow[]> {
    return this.rows<ServiceHoursRow>(
      `SELECT tenant, service, arraySort(groupArray(hour)) AS hours FROM (
         SELECT l.tenant AS tenant, l.service_name AS service, toUnixTimestamp(toStartOfHour(l.timestamp)) AS hour
         FROM ${this.db}.logs AS l WHERE ${this.logsInPeriod}
         GROUP BY l.tenant, l.service_name, hour)
       GROUP BY tenant, service ORDER BY tenant, service`,
      this.params(period),
      plainNumbers,
    );
  }

  /** Audited reads (queries, audit and admin reads) grouped by who, what kind, which tenant and outcome. */
  async readsByIdentity(period: CompliancePeriod): Promise<ReadsRow[]> {
    return this.rows<ReadsRow>(
      `SELECT l.log_attributes['audit.actor.id'] AS actor_id, any(l.log_attributes['audit.actor.name']) AS actor_name,
              any(l.log_attributes['audit.actor.kind']) AS actor_kind, l.log_attributes['audit.action'] AS action,
              l.log_attributes['audit.tenant'] AS tenant, l.log_attributes['audit.outcome'] AS outcome,
              count() AS requests, ${isoTime('min(l.timestamp)')} AS first, ${isoTime('max(l.timestamp)')} AS last
       FROM ${this.db}.logs AS l
       WHERE l.tenant = {audit:String} AND l.timestamp BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
         AND l.log_attributes['audit.action'] IN ('query', 'query.export', 'archive.export', 'incident.export', 'audit.read', 'admin.read')
         AND ({tenant:String} = '' OR l.log_attributes['audit.tenant'] = {tenant:String})
       GROUP BY actor_id, action, tenant, outcome ORDER BY requests DESC, actor_id, action, tenant, outcome`,
      { ...this.params(period), audit: auditTenant },
      plainNumbers,
    );
  }

  /** Head of every integrity chain (of one tenant when the period names one). */
  async chainHeads(tenant: string): Promise<ChainHeadRow[]> {
    return this.rows<ChainHeadRow>(
      `SELECT s.chain_id AS chain_id, any(s.tenant) AS tenant, max(s.batch_seq) AS head_seq, argMax(s.batch_hash, s.batch_seq) AS head_hash,
              ${isoTime('min(s.committed_at)')} AS first_commit, ${isoTime('max(s.committed_at)')} AS last_commit
       FROM ${this.db}.seal_batches AS s WHERE ({tenant:String} = '' OR s.tenant = {tenant:String})
       GROUP BY s.chain_id ORDER BY chain_id`,
      { tenant },
      plainNumbers,
    );
  }

  /** Whether a table exists: alerting is an optional module whose tables may not be there. */
  async hasTable(name: string): Promise<boolean> {
    const [row] = await this.rows<{ n: number }>(
      `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {name:String}`,
      { db: this.db, name },
      plainNumbers,
    );
    return Number(row?.n ?? 0) > 0;
  }

  /** Rule groups stored through the ruler API and not deleted. */
  async alertRuleGroups(tenant: string): Promise<AlertRuleGroupRow[]> {
    return this.rows<AlertRuleGroupRow>(
      `SELECT tenant, namespace, name FROM ${this.db}.alert_rule_groups
       WHERE ({tenant:String} = '' OR tenant = {tenant:String})
       GROUP BY tenant, namespace, name HAVING argMax(deleted, version) = 0 ORDER BY tenant, namespace, name`,
      { tenant },
    );
  }

  /** Alert state changes in the period, per alert name and state. */
  async alertTransitions(period: CompliancePeriod): Promise<CountRow[]> {
    return this.rows<CountRow>(
      `SELECT alert_name AS name, state AS status, count() AS count FROM ${this.db}.alert_states
       WHERE at BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
         AND ({tenant:String} = '' OR tenant = {tenant:String})
       GROUP BY name, status ORDER BY name, status`,
      this.params(period),
      plainNumbers,
    );
  }

  /** Notification attempts in the period per alert name and outcome: delivered (2xx), failed, or silenced. */
  async notificationAttempts(period: CompliancePeriod): Promise<CountRow[]> {
    return this.rows<CountRow>(
      `SELECT alert_name AS name, ${notificationOutcome} AS status, count() AS count FROM ${this.db}.notification_attempts
       WHERE at BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
         AND ({tenant:String} = '' OR tenant = {tenant:String})
       GROUP BY name, status ORDER BY name, status`,
      this.params(period),
      plainNumbers,
    );
  }

  /** Notifications (an alert's firing or resolution to one receiver) of the period that no attempt delivered. */
  async undeliveredNotifications(period: CompliancePeriod): Promise<CountRow[]> {
    return this.rows<CountRow>(
      `SELECT alert_name AS name, 'undelivered' AS status, count() AS count FROM (
         SELECT alert_name, fingerprint, status, receiver, countIf(${notificationOutcome} != 'failed') AS done
         FROM ${this.db}.notification_attempts
         WHERE at BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
           AND ({tenant:String} = '' OR tenant = {tenant:String})
         GROUP BY alert_name, fingerprint, status, receiver HAVING done = 0)
       GROUP BY name ORDER BY name`,
      this.params(period),
      plainNumbers,
    );
  }

  /** Every alert instance that fired in the period, with who acknowledged it by the period's end and after how many seconds (null: not by then). */
  /**
   * Silences whose time overlapped the period, each in its last version saved by the period's end (an
   * early expiry after it does not rewrite a closed period), with the notifications it held back in it.
   */
  async silencesInForce(period: CompliancePeriod): Promise<SilenceRow[]> {
    return this.rows<SilenceRow>(
      `SELECT s.tenant AS tenant, s.id AS id, s.matchers AS matchers, ${isoTime('s.starts')} AS starts_at, ${isoTime('s.ends')} AS ends_at,
         s.created_by AS created_by, s.comment AS comment, round(dateDiff('second', s.starts, s.ends) / 3600, 1) AS hours,
         toUInt64(ifNull(h.held, 0)) AS notifications_held
       FROM (
         SELECT tenant, id, argMax(matchers, version) AS matchers, argMax(starts_at, version) AS starts, argMax(ends_at, version) AS ends,
           argMax(created_by, version) AS created_by, argMax(comment, version) AS comment
         FROM ${this.db}.alert_silences
         WHERE version <= fromUnixTimestamp64Nano({to:Int64}) AND ({tenant:String} = '' OR tenant = {tenant:String})
         GROUP BY tenant, id) AS s
       LEFT JOIN (
         SELECT tenant, substring(receiver, length('silenced by ') + 1) AS id, count() AS held FROM ${this.db}.notification_attempts
         WHERE startsWith(receiver, 'silenced by ') AND at BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
         GROUP BY tenant, id) AS h ON h.tenant = s.tenant AND h.id = s.id
       WHERE s.starts <= fromUnixTimestamp64Nano({to:Int64}) AND s.ends > fromUnixTimestamp64Nano({from:Int64})
       ORDER BY s.starts, s.tenant, s.id`,
      this.params(period),
      plainNumbers,
    );
  }

  async alertAcknowledgements(period: CompliancePeriod): Promise<AcknowledgementRow[]> {
    return this.rows<AcknowledgementRow>(
      `SELECT f.tenant AS tenant, f.alert_name AS name, f.fingerprint AS fingerprint, ${isoTime('f.active_at')} AS fired_at,
         if(a.by = '', NULL, a.by) AS acknowledged_by,
         if(a.by = '', NULL, round(dateDiff('millisecond', f.active_at, a.at) / 1000, 3)) AS seconds_to_acknowledge
       FROM (
         SELECT DISTINCT tenant, alert_name, fingerprint, active_at FROM ${this.db}.alert_states
         WHERE state = 'firing' AND at BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
           AND ({tenant:String} = '' OR tenant = {tenant:String})) AS f
       LEFT JOIN (
         SELECT tenant, fingerprint, active_at, min(acknowledged_at) AS at, argMin(acknowledged_by, acknowledged_at) AS by
         FROM ${this.db}.alert_acknowledgements
         WHERE acknowledged_at <= fromUnixTimestamp64Nano({to:Int64})
         GROUP BY tenant, fingerprint, active_at) AS a
         ON a.tenant = f.tenant AND a.fingerprint = f.fingerprint AND a.active_at = f.active_at
       ORDER BY f.active_at, f.fingerprint`,
      this.params(period),
      plainNumbers,
    );
  }

  /** Each credential's last HTTP authentication up to the end of the period (auth.login, one per credential per window): last use as it stood then. */
  async lastLogins(period: CompliancePeriod): Promise<{ actor_id: string; last: string }[]> {
    return this.rows<{ actor_id: string; last: string }>(
      `SELECT l.log_attributes['audit.actor.id'] AS actor_id, ${isoTime('max(l.timestamp)')} AS last
       FROM ${this.db}.logs AS l
       WHERE l.tenant = {audit:String} AND l.timestamp <= fromUnixTimestamp64Nano({to:Int64}) AND l.log_attributes['audit.action'] = 'auth.login'
       GROUP BY actor_id ORDER BY actor_id`,
      { ...this.params(period), audit: auditTenant },
    );
  }

  /** Batches whose records retention disposed of in the period, with the evidence the disposer recorded (policy, positions, trigger). */
  async disposedBatches(period: CompliancePeriod): Promise<DisposedBatchRow[]> {
    return this.rows<DisposedBatchRow>(
      `SELECT e.chain_id AS chain_id, b.tenant AS tenant, e.batch_seq AS batch_seq, e.detail AS detail, ${isoTime('e.at')} AS at
       FROM ${this.db}.seal_events AS e
       LEFT JOIN (SELECT chain_id, any(tenant) AS tenant FROM ${this.db}.seal_batches GROUP BY chain_id) AS b ON b.chain_id = e.chain_id
       WHERE e.kind = 'disposed' AND e.at BETWEEN fromUnixTimestamp64Nano({from:Int64}) AND fromUnixTimestamp64Nano({to:Int64})
         AND ({tenant:String} = '' OR b.tenant = {tenant:String})
       ORDER BY e.at, e.chain_id, e.batch_seq`,
      this.params(period),
      plainNumbers,
    );
  }

  /** Records still stored although their policy expired them before `expiredBeforeNs` and no legal hold covers them. */
  async overdueRecords(options: {
    rules: RetentionRule[];
    fallback: RetentionRule;
    audit: RetentionRule;
    holds: LegalHold[];
    expiredBeforeNs: bigint;
    tenant: string;
  }): Promise<OverdueRow[]> {
    const params: Record<string, unknown> = { now: options.expiredBeforeNs.toString(), tenant: options.tenant };
    const { expired, policy } = expiredCondition(
      [{ ...options.audit, tenant: auditTenant }, ...options.rules],
      options.fallback,
      options.holds,
      params,
    );
    return this.rows<OverdueRow>(
      `SELECT tenant, ${policy} AS policy, count() AS records, ${isoTime('min(timestamp)')} AS oldest
       FROM ${this.db}.logs WHERE ${expired} AND ({tenant:String} = '' OR tenant = {tenant:String})
       GROUP BY tenant, policy ORDER BY tenant, policy`,
      params,
      plainNumbers,
    );
  }

  /** Active parts of meshlog's tables per disk: what the data takes on disk now. */
  async tableUse(): Promise<TableUseRow[]> {
    return this.rows<TableUseRow>(
      `SELECT table, disk_name AS disk, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk, sum(data_uncompressed_bytes) AS uncompressed_bytes
       FROM system.parts WHERE database = {db:String} AND active
       GROUP BY table, disk ORDER BY bytes_on_disk DESC, table`,
      { db: this.db },
      plainNumbers,
    );
  }

  /** Every disk ClickHouse knows, with its space and whether it encrypts what it stores. */
  async disks(): Promise<DiskRow[]> {
    return this.rows<DiskRow>(
      `SELECT name, type, is_encrypted, free_space, total_space, keep_free_space FROM system.disks ORDER BY name`,
      {},
      plainNumbers,
    );
  }
}
