import type { Storage } from '../engine/storage.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

/** One state change of one alert instance. */
export interface AlertTransition {
  tenant: string;
  namespace: string;
  group: string;
  alertName: string;
  fingerprint: string;
  state: AlertState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeAtMs: number;
  atMs: number;
}

export interface StoredRuleGroup {
  tenant: string;
  namespace: string;
  name: string;
  yaml: string;
}

/** Notifications of alerts whose labels include every matcher are held back until endsAtMs. */
export interface Silence {
  tenant: string;
  id: string;
  matchers: Record<string, string>;
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
}

export interface NotificationAttempt {
  tenant: string;
  fingerprint: string;
  alertName: string;
  status: 'firing' | 'resolved';
  receiver: string;
  attempt: number;
  httpStatus: number;
  error: string;
  atMs: number;
}

/** Someone took a firing alert on: the instance is its fingerprint and the time it became active. */
export interface AlertAcknowledgement {
  tenant: string;
  fingerprint: string;
  alertName: string;
  activeAtMs: number;
  atMs: number;
  by: string;
  comment: string;
}

/** A notification a receiver is owed (or, settled, no longer owed); receiver `held` is a silence holding it back. */
export interface OwedNotification<N = unknown> {
  tenant: string;
  fingerprint: string;
  receiver: string;
  notification: N;
  owed: boolean;
}

/** Later than every version written before, even within one millisecond (owed and settled often share one). */
let lastOwedVersion = 0;
function nextOwedVersion(): number {
  lastOwedVersion = Math.max(lastOwedVersion + 1, Date.now() * 1000);
  return lastOwedVersion;
}

interface TransitionRow {
  tenant: string;
  namespace: string;
  rule_group: string;
  alert_name: string;
  fingerprint: string;
  state: AlertState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  active_at_ms: string;
  at_ms: string;
}

function transitionOf(row: TransitionRow): AlertTransition {
  return {
    tenant: row.tenant,
    namespace: row.namespace,
    group: row.rule_group,
    alertName: row.alert_name,
    fingerprint: row.fingerprint,
    state: row.state,
    labels: row.labels,
    annotations: row.annotations,
    value: row.value,
    activeAtMs: Number(row.active_at_ms),
    atMs: Number(row.at_ms),
  };
}

/** An alert that fires without a `for:` is pending and firing at the same instant: the later state wins the tie. */
const latestFirst = `at DESC, indexOf(['pending', 'firing', 'resolved'], state) DESC`;

const transitionColumns = `tenant, namespace, rule_group, alert_name, fingerprint, state, labels, annotations, value,
  toString(toUnixTimestamp64Milli(active_at)) AS active_at_ms, toString(toUnixTimestamp64Milli(at)) AS at_ms`;

/** Alert states, API-managed rule groups and notification attempts. */
export class AlertStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  async recordTransitions(transitions: AlertTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    await this.storage.client.insert({
      table: `${this.db}.alert_states`,
      format: 'JSONEachRow',
      values: transitions.map((t) => ({
        tenant: t.tenant,
        namespace: t.namespace,
        rule_group: t.group,
        alert_name: t.alertName,
        fingerprint: t.fingerprint,
        state: t.state,
        labels: t.labels,
        annotations: t.annotations,
        value: Number.isFinite(t.value) ? t.value : 0,
        active_at: t.activeAtMs,
        at: t.atMs,
      })),
    });
  }

  /** The latest state of every alert instance still pending or firing (to carry on after a restart). */
  async active(): Promise<AlertTransition[]> {
    const rows = await this.storage.rows<TransitionRow>(
      `SELECT ${transitionColumns} FROM ${this.db}.alert_states
       ORDER BY ${latestFirst} LIMIT 1 BY tenant, fingerprint`,
    );
    return rows.map(transitionOf).filter((t) => t.state !== 'resolved');
  }

  /** A tenant's alert instances in their latest state, newest first; resolved ones since `sinceMs`. */
  async latest(tenant: string, sinceMs: number): Promise<AlertTransition[]> {
    const rows = await this.storage.rows<TransitionRow>(
      `SELECT * FROM (
         SELECT ${transitionColumns} FROM ${this.db}.alert_states WHERE tenant = {tenant:String}
         ORDER BY ${latestFirst} LIMIT 1 BY fingerprint)
       WHERE state != 'resolved' OR toInt64(at_ms) >= {since:Int64}
       ORDER BY toInt64(at_ms) DESC`,
      { tenant, since: sinceMs },
    );
    return rows.map(transitionOf);
  }

  /** Every state change of a tenant's alerts, oldest first. */
  async history(tenant: string): Promise<AlertTransition[]> {
    const rows = await this.storage.rows<TransitionRow>(
      `SELECT ${transitionColumns} FROM ${this.db}.alert_states WHERE tenant = {tenant:String} ORDER BY at, indexOf(['pending', 'firing', 'resolved'], state)`,
      { tenant },
    );
    return rows.map(transitionOf);
  }

  async acknowledge(ack: AlertAcknowledgement): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.alert_acknowledgements`,
      format: 'JSONEachRow',
      values: [
        {
          tenant: ack.tenant,
          fingerprint: ack.fingerprint,
          alert_name: ack.alertName,
          active_at: ack.activeAtMs,
          acknowledged_at: ack.atMs,
          acknowledged_by: ack.by,
          comment: ack.comment,
        },
      ],
    });
  }

  /** A tenant's acknowledgements of alert instances active since `sinceMs`. */
  async acknowledgements(tenant: string, sinceMs: number): Promise<AlertAcknowledgement[]> {
    const rows = await this.storage.rows<{
      fingerprint: string;
      alert_name: string;
      active_at_ms: string;
      at_ms: string;
      acknowledged_by: string;
      comment: string;
    }>(
      `SELECT fingerprint, alert_name, toString(toUnixTimestamp64Milli(active_at)) AS active_at_ms,
         toString(toUnixTimestamp64Milli(acknowledged_at)) AS at_ms, acknowledged_by, comment
       FROM ${this.db}.alert_acknowledgements
       WHERE tenant = {tenant:String} AND active_at >= fromUnixTimestamp64Milli({since:Int64})
       ORDER BY acknowledged_at`,
      { tenant, since: sinceMs },
    );
    return rows.map((row) => ({
      tenant,
      fingerprint: row.fingerprint,
      alertName: row.alert_name,
      activeAtMs: Number(row.active_at_ms),
      atMs: Number(row.at_ms),
      by: row.acknowledged_by,
      comment: row.comment,
    }));
  }

  async saveRuleGroup(group: StoredRuleGroup, deleted: boolean): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.alert_rule_groups`,
      format: 'JSONEachRow',
      values: [{ ...group, deleted: deleted ? 1 : 0, version: Date.now() }],
    });
  }

  async ruleGroups(): Promise<StoredRuleGroup[]> {
    return this.storage.rows<StoredRuleGroup>(
      `SELECT tenant, namespace, name, argMax(yaml, version) AS yaml FROM ${this.db}.alert_rule_groups
       GROUP BY tenant, namespace, name HAVING argMax(deleted, version) = 0 ORDER BY tenant, namespace, name`,
    );
  }

  async saveSilence(silence: Silence): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.alert_silences`,
      format: 'JSONEachRow',
      values: [
        {
          tenant: silence.tenant,
          id: silence.id,
          matchers: silence.matchers,
          starts_at: silence.startsAtMs,
          ends_at: silence.endsAtMs,
          created_by: silence.createdBy,
          comment: silence.comment,
          version: Date.now(),
        },
      ],
    });
  }

  /** Every silence in its latest version (expired ones too: they are evidence). */
  async silences(): Promise<Silence[]> {
    const rows = await this.storage.rows<{
      tenant: string;
      id: string;
      matchers: Record<string, string>;
      starts_ms: string;
      ends_ms: string;
      created_by: string;
      comment: string;
    }>(
      `SELECT tenant, id, argMax(matchers, version) AS matchers, toString(toUnixTimestamp64Milli(argMax(starts_at, version))) AS starts_ms,
         toString(toUnixTimestamp64Milli(argMax(ends_at, version))) AS ends_ms, argMax(created_by, version) AS created_by, argMax(comment, version) AS comment
       FROM ${this.db}.alert_silences GROUP BY tenant, id ORDER BY starts_ms`,
    );
    return rows.map((row) => ({
      tenant: row.tenant,
      id: row.id,
      matchers: row.matchers,
      startsAtMs: Number(row.starts_ms),
      endsAtMs: Number(row.ends_ms),
      createdBy: row.created_by,
      comment: row.comment,
    }));
  }

  async recordAttempt(attempt: NotificationAttempt): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.notification_attempts`,
      format: 'JSONEachRow',
      values: [
        {
          tenant: attempt.tenant,
          fingerprint: attempt.fingerprint,
          alert_name: attempt.alertName,
          status: attempt.status,
          receiver: attempt.receiver,
          attempt: attempt.attempt,
          http_status: attempt.httpStatus,
          error: attempt.error,
          at: attempt.atMs,
        },
      ],
    });
  }

  async attempts(tenant: string): Promise<NotificationAttempt[]> {
    const rows = await this.storage.rows<{
      tenant: string;
      fingerprint: string;
      alert_name: string;
      status: 'firing' | 'resolved';
      receiver: string;
      attempt: number;
      http_status: number;
      error: string;
      at_ms: string;
    }>(
      `SELECT tenant, fingerprint, alert_name, status, receiver, attempt, http_status, error, toString(toUnixTimestamp64Milli(at)) AS at_ms
       FROM ${this.db}.notification_attempts WHERE tenant = {tenant:String} ORDER BY at, attempt`,
      { tenant },
    );
    return rows.map((row) => ({
      tenant: row.tenant,
      fingerprint: row.fingerprint,
      alertName: row.alert_name,
      status: row.status,
      receiver: row.receiver,
      attempt: Number(row.attempt),
      httpStatus: Number(row.http_status),
      error: row.error,
      atMs: Number(row.at_ms),
    }));
  }

  /** Marks notifications owed or settled; the latest mark of a tenant, fingerprint and receiver wins. */
  async markOwed(marks: OwedNotification[]): Promise<void> {
    if (marks.length === 0) return;
    await this.storage.client.insert({
      table: `${this.db}.notifications_owed`,
      format: 'JSONEachRow',
      values: marks.map((mark) => ({
        tenant: mark.tenant,
        fingerprint: mark.fingerprint,
        receiver: mark.receiver,
        notification: JSON.stringify(mark.notification),
        owed: mark.owed ? 1 : 0,
        at: Date.now(),
        version: nextOwedVersion(),
      })),
    });
  }

  /** Every notification still owed (to carry on after a restart), oldest first. */
  async owed<N>(): Promise<OwedNotification<N>[]> {
    const rows = await this.storage.rows<{ tenant: string; fingerprint: string; receiver: string; notification: string }>(
      `SELECT tenant, fingerprint, receiver, argMax(notification, version) AS notification, max(version) AS latest
       FROM ${this.db}.notifications_owed GROUP BY tenant, fingerprint, receiver
       HAVING argMax(owed, version) = 1 ORDER BY latest`,
    );
    return rows.map((row) => ({
      tenant: row.tenant,
      fingerprint: row.fingerprint,
      receiver: row.receiver,
      notification: JSON.parse(row.notification) as N,
      owed: true,
    }));
  }
}
