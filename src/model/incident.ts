/**
 * An incident as read back from its timeline (docs/incidents.md): the
 * events are the record, everything else (state, owner, response times,
 * pins, linked alerts) is folded from them, so the SOC 2 report and the
 * workspace read the same facts.
 */
export const incidentStates = ['open', 'mitigated', 'resolved'] as const;
export type IncidentState = (typeof incidentStates)[number];

export const incidentSeverities = ['critical', 'high', 'medium', 'low'] as const;
export type IncidentSeverity = (typeof incidentSeverities)[number];

/** One event of an incident's timeline (see src/incidents/): only ever appended. */
export interface IncidentEvent {
  tenant: string;
  incident_id: string;
  /** Orders events of one millisecond: sortable text, unique per incident. */
  event_id: string;
  /** ISO 8601 (UTC) when written; ClickHouse's `YYYY-MM-DD hh:mm:ss.fff` when read back. */
  at: string;
  /** opened, note, state, owner, severity, pin, alert_firing, alert_resolved, exported. */
  kind: string;
  /** Who: a person's name, or `alerting` for what the server did on its own. */
  actor: string;
  actor_id: string;
  /** JSON of what the event says (title, note text, from/to state, the pinned thing…). */
  detail: string;
}

/** What the server itself writes as: an alert firing, not a person. */
export const alertingActor = 'alerting';

export type PinnedThing =
  | {
      kind: 'line';
      record: string;
      chain_id: string;
      batch_seq: number;
      batch_pos: number;
      timestamp_ns: string;
      service: string;
      line: string;
    }
  | { kind: 'query'; query: string; from: string; to: string }
  | { kind: 'trace'; trace_id: string }
  | { kind: 'pattern'; service: string; pattern: string };

export type Pin = PinnedThing & { pinned_at: string; pinned_by: string; note: string };

export interface LinkedAlert {
  fingerprint: string;
  alertname: string;
  labels: Record<string, string>;
  state: 'firing' | 'resolved';
  fired_at: string;
  resolved_at: string | null;
}

export interface TimelineEntry {
  at: string;
  kind: string;
  by: string;
  detail: Record<string, unknown>;
}

export interface Incident {
  id: string;
  tenant: string;
  title: string;
  severity: IncidentSeverity;
  owner: string;
  state: IncidentState;
  /** `alert` when an alert rule marked open_incident opened it, `manual` when a person did. */
  source: 'alert' | 'manual';
  opened_at: string;
  opened_by: string;
  /** When a person first acted on it (for one opened by hand: at once). */
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  mitigated_at: string | null;
  resolved_at: string | null;
  seconds_to_acknowledge: number | null;
  seconds_to_resolve: number | null;
  alerts: LinkedAlert[];
  pins: Pin[];
  timeline: TimelineEntry[];
}

/** ClickHouse prints DateTime64 as `YYYY-MM-DD hh:mm:ss.fff` in UTC; ISO strings pass through. */
export function isoOfEventTime(value: string): string {
  return new Date(/[TZ]/.test(value) ? value : `${value.replace(' ', 'T')}Z`).toISOString();
}

const secondsBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

/** Kinds a person acknowledges an incident by acting on it. */
const acknowledging = new Set(['note', 'state', 'owner', 'severity', 'pin']);

/** The incident one timeline tells (events of one incident, oldest first), or undefined without its opening. */
export function foldIncident(events: IncidentEvent[]): Incident | undefined {
  const opened = events.find((event) => event.kind === 'opened');
  if (!opened) return undefined;
  const start = JSON.parse(opened.detail) as { title: string; severity: IncidentSeverity; owner: string; source: 'alert' | 'manual' };
  const openedAt = isoOfEventTime(opened.at);
  const incident: Incident = {
    id: opened.incident_id,
    tenant: opened.tenant,
    title: start.title,
    severity: start.severity,
    owner: start.owner,
    state: 'open',
    source: start.source,
    opened_at: openedAt,
    opened_by: opened.actor,
    acknowledged_at: start.source === 'manual' ? openedAt : null,
    acknowledged_by: start.source === 'manual' ? opened.actor : null,
    mitigated_at: null,
    resolved_at: null,
    seconds_to_acknowledge: start.source === 'manual' ? 0 : null,
    seconds_to_resolve: null,
    alerts: [],
    pins: [],
    timeline: [],
  };
  for (const event of events) {
    const at = isoOfEventTime(event.at);
    const detail = JSON.parse(event.detail) as Record<string, unknown>;
    incident.timeline.push({ at, kind: event.kind, by: event.actor, detail });
    if (incident.acknowledged_at === null && event.actor !== alertingActor && acknowledging.has(event.kind)) {
      incident.acknowledged_at = at;
      incident.acknowledged_by = event.actor;
      incident.seconds_to_acknowledge = secondsBetween(openedAt, at);
    }
    switch (event.kind) {
      case 'state': {
        const to = detail.to as IncidentState;
        incident.state = to;
        if (to === 'mitigated') incident.mitigated_at ??= at;
        // Reopened: the resolution that counts is the one after it.
        incident.resolved_at = to === 'resolved' ? at : null;
        break;
      }
      case 'owner':
        incident.owner = String(detail.to);
        break;
      case 'severity':
        incident.severity = detail.to as IncidentSeverity;
        break;
      case 'title':
        incident.title = String(detail.to);
        break;
      case 'pin':
        incident.pins.push({ ...(detail.pin as PinnedThing), pinned_at: at, pinned_by: event.actor, note: String(detail.note ?? '') });
        break;
      case 'alert_firing': {
        const fingerprint = String(detail.fingerprint);
        const known = incident.alerts.find((alert) => alert.fingerprint === fingerprint);
        if (known) Object.assign(known, { state: 'firing', resolved_at: null });
        else
          incident.alerts.push({
            fingerprint,
            alertname: String(detail.alertname),
            labels: detail.labels as Record<string, string>,
            state: 'firing',
            fired_at: at,
            resolved_at: null,
          });
        break;
      }
      case 'alert_resolved': {
        const known = incident.alerts.find((alert) => alert.fingerprint === detail.fingerprint);
        if (known) Object.assign(known, { state: 'resolved', resolved_at: at });
        break;
      }
    }
  }
  incident.seconds_to_resolve = incident.resolved_at === null ? null : secondsBetween(openedAt, incident.resolved_at);
  return incident;
}

/** Every incident the events tell (of any number of incidents, oldest first), oldest opened first. */
export function foldIncidents(events: IncidentEvent[]): Incident[] {
  const byId = new Map<string, IncidentEvent[]>();
  for (const event of events) {
    const key = `${event.tenant}\0${event.incident_id}`;
    const list = byId.get(key);
    if (list) list.push(event);
    else byId.set(key, [event]);
  }
  return [...byId.values()].flatMap((list) => foldIncident(list) ?? []).sort((a, b) => a.opened_at.localeCompare(b.opened_at));
}
