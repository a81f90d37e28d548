import { foldIncidents } from '../model/incident.js';
import { isoOfNs, parseStoredTime, type ReportSection, type SectionInput } from './reportModel.js';

const mean = (values: number[]): number | null =>
  values.length === 0 ? null : Number((values.reduce((sum, value) => sum + value, 0) / values.length).toFixed(3));

/**
 * Incident response: every incident open at some time in the period, as its
 * timeline stood at the period's end (later events are not read), with how
 * long it took to acknowledge and to resolve.
 */
export async function incidentSection({ sources, period }: SectionInput): Promise<ReportSection> {
  const base = {
    id: 'incidents',
    title: 'Incident response: incidents, their timelines and response times',
    criteria: ['CC7.3', 'CC7.4', 'CC7.5'],
  };
  const fromMs = Number(period.fromNs / 1_000_000n);
  const toMs = Number(period.toNs / 1_000_000n);
  const events = (await sources.incidents.events(period.tenant)).filter((event) => parseStoredTime(event.at) <= toMs);
  const incidents = foldIncidents(events)
    .filter((incident) => incident.resolved_at === null || Date.parse(incident.resolved_at) >= fromMs)
    .map((incident) => ({
      id: incident.id,
      tenant: incident.tenant,
      title: incident.title,
      severity: incident.severity,
      source: incident.source,
      owner: incident.owner,
      state_at_period_end: incident.state,
      opened_at: incident.opened_at,
      acknowledged_at: incident.acknowledged_at,
      acknowledged_by: incident.acknowledged_by,
      mitigated_at: incident.mitigated_at,
      resolved_at: incident.resolved_at,
      seconds_to_acknowledge: incident.seconds_to_acknowledge,
      seconds_to_resolve: incident.seconds_to_resolve,
      alerts: incident.alerts.map((alert) => alert.alertname),
      notes: incident.timeline.filter((entry) => entry.kind === 'note').length,
      pinned: incident.pins.length,
    }));
  const unacknowledged = incidents.filter((incident) => incident.acknowledged_at === null);
  const unresolved = incidents.filter((incident) => incident.resolved_at === null);
  const data = {
    period: { from: isoOfNs(period.fromNs), to: isoOfNs(period.toNs) },
    incidents,
    opened_in_period: incidents.filter((incident) => Date.parse(incident.opened_at) >= fromMs).length,
    opened_by_alerts: incidents.filter((incident) => incident.source === 'alert').length,
    mean_seconds_to_acknowledge: mean(
      incidents.flatMap((incident) => (incident.seconds_to_acknowledge === null ? [] : [incident.seconds_to_acknowledge])),
    ),
    mean_seconds_to_resolve: mean(
      incidents.flatMap((incident) => (incident.seconds_to_resolve === null ? [] : [incident.seconds_to_resolve])),
    ),
    unacknowledged: unacknowledged.length,
    unresolved_at_period_end: unresolved.length,
  };
  if (incidents.length === 0) return { ...base, data, status: 'pass', reason: 'no incidents were open in the period' };
  if (unacknowledged.length > 0) {
    return {
      ...base,
      data,
      status: 'attention',
      reason: `${unacknowledged.length} of ${incidents.length} incidents were never acknowledged by a person (${unacknowledged.map((incident) => incident.id).join(', ')})`,
    };
  }
  const times = [
    data.mean_seconds_to_acknowledge === null ? '' : `mean time to acknowledge ${data.mean_seconds_to_acknowledge} s`,
    data.mean_seconds_to_resolve === null ? '' : `mean time to resolve ${data.mean_seconds_to_resolve} s`,
  ].filter(Boolean);
  return {
    ...base,
    data,
    status: 'pass',
    reason: `${incidents.length} incidents, each acknowledged by a person; ${unresolved.length} still open at the period's end${times.length > 0 ? `; ${times.join(', ')}` : ''}`,
  };
}
