/** An incident as the API answers it (see src/model/incident.ts). */
export interface IncidentSummary {
  id: string;
  tenant: string;
  title: string;
  severity: 'critical' | 'high' | 'medium' | 'low';
  owner: string;
  state: 'open' | 'mitigated' | 'resolved';
  source: 'alert' | 'manual';
  opened_at: string;
  opened_by: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  mitigated_at: string | null;
  resolved_at: string | null;
  seconds_to_acknowledge: number | null;
  seconds_to_resolve: number | null;
  alerts: {
    fingerprint: string;
    alertname: string;
    labels: Record<string, string>;
    state: 'firing' | 'resolved';
    fired_at: string;
    resolved_at: string | null;
  }[];
  pins: Pin[];
}

export type Pin = { pinned_at: string; pinned_by: string; note: string } & (
  | { kind: 'line'; record: string; timestamp_ns: string; service: string; line: string }
  | { kind: 'query'; query: string; from: string; to: string }
  | { kind: 'trace'; trace_id: string }
  | { kind: 'pattern'; service: string; pattern: string }
);

export interface Incident extends IncidentSummary {
  timeline: { at: string; kind: string; by: string; detail: Record<string, unknown> }[];
}

/** Seconds as a person reads a response time. */
export function responseTime(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
