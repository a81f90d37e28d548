import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import { isoOfNs, parseStoredTime, type SectionInput } from './reportModel.js';

/** One alert rule as the ruler API accepted it (the `alert_rules.create`/`update` audit detail). */
export interface RecordedAlertRule {
  alert: string;
  expr: string;
  for_ms?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  open_incident?: true;
}

/** One version of a rule group and the part of the period it was in force. */
export interface RuleGroupInForce {
  tenant: string;
  namespace: string;
  group: string;
  from: string;
  to: string;
  /** Who set this version, and when (before the period for a group already in force at its start). */
  set_by: string;
  set_at: string;
  interval_ms: number | null;
  rules: RecordedAlertRule[];
}

/** Rule-group changes over every tenant ever recorded: enough for any deployment's ruler history. */
const maxRuleEvents = 1_000_000;

/**
 * The ruler API's rule groups as they stood during the period, replayed from
 * the audit trail's `alert_rules.create`/`update`/`delete` events (each
 * create or update carries the whole group): every version in force at some
 * moment of the period, with when it applied. A pure function of stored,
 * sealed events, so a rule changed after the period leaves it unchanged.
 */
export async function alertRulesInForce({ sources, period }: SectionInput): Promise<RuleGroupInForce[]> {
  const events = (
    await sources.auditStore.events({ sinceNs: 0n, untilNs: period.toNs, action: 'alert_rules.', outcome: 'success', limit: maxRuleEvents })
  )
    .reverse()
    .filter((event) => period.tenant === '' || event.tenant === period.tenant);
  const periodFrom = Date.parse(isoOfNs(period.fromNs));
  const periodTo = isoOfNs(period.toNs);
  const current = new Map<string, { event: StoredAuditEvent; from: number }>();
  const versions: RuleGroupInForce[] = [];
  const close = (key: string, at: number) => {
    const open = current.get(key);
    if (!open) return;
    current.delete(key);
    // A version replaced before the period started was never in force during it.
    if (at > periodFrom) versions.push(version(open.event, open.from, new Date(at).toISOString()));
  };
  const version = (event: StoredAuditEvent, from: number, to: string): RuleGroupInForce => {
    const detail = JSON.parse(event.detail || '{}') as { interval_ms?: number; rules?: RecordedAlertRule[] };
    const slash = event.target.indexOf('/');
    return {
      tenant: event.tenant,
      namespace: event.target.slice(0, slash),
      group: event.target.slice(slash + 1),
      from: new Date(Math.max(from, periodFrom)).toISOString(),
      to,
      set_by: event.actor_name || event.actor_id,
      set_at: new Date(parseStoredTime(event.time)).toISOString(),
      interval_ms: detail.interval_ms ?? null,
      rules: detail.rules ?? [],
    };
  };
  for (const event of events) {
    const key = `${event.tenant}\u0000${event.target}`;
    const at = parseStoredTime(event.time);
    close(key, at);
    if (event.action !== 'alert_rules.delete') current.set(key, { event, from: at });
  }
  for (const [, open] of current) versions.push(version(open.event, open.from, periodTo));
  return versions.sort(
    (a, b) =>
      a.tenant.localeCompare(b.tenant) ||
      a.namespace.localeCompare(b.namespace) ||
      a.group.localeCompare(b.group) ||
      a.from.localeCompare(b.from),
  );
}
