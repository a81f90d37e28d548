import type { AlertTransition } from '../../storage/stores/alertStore.js';
import type { AnomalyFinding, DetectorName } from './anomalyDetectors.js';

/** Which finding names an incident when several detectors agree: the gravest cause first. */
const precedence: DetectorName[] = [
  'silent_service',
  'error_rate',
  'volume_drop',
  'volume_spike',
  'access_denied_spike',
  'unusual_destination',
  'pattern_surge',
  'new_pattern',
];
const rank = (detector: string) => precedence.indexOf(detector as DetectorName);

interface OpenIncident {
  transition: AlertTransition;
  /** Buckets in a row without any finding for the service. */
  quietBuckets: number;
  /** Every detector that found something during the incident, with its latest explanation. */
  explanations: Map<DetectorName, string>;
}

const describe = (detector: DetectorName) => detector.replaceAll('_', ' ');

/**
 * Turns the findings of closed buckets into alerts, one incident per
 * service: findings of several detectors in the same service while an
 * incident is open join it (a spike on a one-template service is one alert,
 * not a volume and a pattern alert), and an incident resolves only after
 * `resolveAfterBuckets` buckets in a row without findings (hysteresis), so a
 * wobbling anomaly is one firing notification, not one per wobble. A graver
 * cause joining an open incident (a service with a new pattern that then
 * goes silent) is sent again under the same fingerprint, so the page says
 * what matters most.
 */
export class AnomalyIncidents {
  private readonly open = new Map<string, OpenIncident>();

  constructor(private readonly resolveAfterBuckets: number) {}

  /** The alert changes that one closed bucket's findings make, as of `nowMs`. */
  update(findings: AnomalyFinding[], nowMs: number): AlertTransition[] {
    const byService = new Map<string, AnomalyFinding[]>();
    for (const finding of findings) {
      const key = `${finding.tenant}\0${finding.serviceName}`;
      byService.set(key, [...(byService.get(key) ?? []), finding]);
    }
    const transitions: AlertTransition[] = [];
    for (const [key, found] of byService) {
      found.sort((a, b) => rank(a.detector) - rank(b.detector));
      const cause = found[0];
      const incident = this.open.get(key) ?? { transition: undefined, quietBuckets: 0, explanations: new Map<DetectorName, string>() };
      incident.quietBuckets = 0;
      for (const finding of [...found].reverse()) incident.explanations.set(finding.detector, finding.explanation);
      if (!incident.transition || rank(cause.detector) < rank(incident.transition.labels.detector)) {
        incident.transition = this.firing(key, cause, incident.explanations, incident.transition?.activeAtMs ?? nowMs, nowMs);
        transitions.push(incident.transition);
      } else {
        incident.transition = { ...incident.transition, annotations: this.annotations(cause.serviceName, incident.explanations) };
      }
      this.open.set(key, incident as OpenIncident);
    }
    for (const [key, incident] of this.open) {
      if (byService.has(key) || ++incident.quietBuckets < this.resolveAfterBuckets) continue;
      this.open.delete(key);
      transitions.push({ ...incident.transition, state: 'resolved', atMs: nowMs });
    }
    return transitions;
  }

  private firing(
    key: string,
    cause: AnomalyFinding,
    explanations: Map<DetectorName, string>,
    activeAtMs: number,
    nowMs: number,
  ): AlertTransition {
    const detectors = this.ordered(explanations);
    const labels: Record<string, string> = {
      alertname: `Anomaly_${cause.detector}`,
      detector: cause.detector,
      service_name: cause.serviceName,
      criteria: cause.criteria,
      ...(cause.patternId
        ? { [cause.detector === 'unusual_destination' || cause.detector === 'error_rate' ? 'route' : 'pattern_id']: cause.patternId }
        : {}),
      ...(detectors.length > 1 ? { detectors: detectors.join(',') } : {}),
    };
    return {
      tenant: cause.tenant,
      namespace: 'anomaly',
      group: cause.detector,
      alertName: labels.alertname,
      fingerprint: key.replace('\0', '/'),
      state: 'firing',
      labels,
      annotations: this.annotations(cause.serviceName, explanations),
      value: cause.value,
      activeAtMs,
      atMs: nowMs,
    };
  }

  private ordered(explanations: Map<DetectorName, string>): DetectorName[] {
    return [...explanations.keys()].sort((a, b) => rank(a) - rank(b));
  }

  /** The gravest cause's explanation; what the other detectors found, one a line, under `correlated`. */
  private annotations(serviceName: string, explanations: Map<DetectorName, string>): Record<string, string> {
    const [cause, ...others] = this.ordered(explanations);
    const also = others.length > 0 ? ` (with ${others.map(describe).join(', ')})` : '';
    return {
      summary: `${describe(cause)} in ${serviceName}${also}`,
      explanation: explanations.get(cause)!,
      ...(others.length > 0 ? { correlated: others.map((detector) => explanations.get(detector)).join('\n') } : {}),
    };
  }
}
