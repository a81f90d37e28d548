import type { Incident } from '../model/incident.js';

/** `/api/v1/incidents`: incidents of the request's tenant, as folded from their timelines (src/model/incident.ts). */
export type { Incident, IncidentSeverity, IncidentState, LinkedAlert, Pin, PinnedThing, TimelineEntry } from '../model/incident.js';

/** An incident in a list: all but its timeline. */
export type IncidentSummary = Omit<Incident, 'timeline'>;

export interface IncidentsResponse {
  incidents: IncidentSummary[];
}

export interface IncidentResponse {
  incident: Incident;
}

/** One incident with whether its pins are held from retention, and how long after it is resolved. */
export interface IncidentDetailResponse extends IncidentResponse {
  hold: { holds_pins: boolean; hold_after_resolve_ms: number };
}
