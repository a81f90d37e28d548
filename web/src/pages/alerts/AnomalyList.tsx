import { Link } from '../../shell/Link';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import type { AlertTransition } from '@api/alerts';

const minute = 60_000;

/** The LogQL behind an anomaly: its service's lines, only the errors for an error-rate finding. */
export function anomalyQuery(anomaly: AlertTransition): string {
  const selector = `{service_name=${JSON.stringify(anomaly.labels.service_name ?? '')}}`;
  return anomaly.labels.detector === 'error_rate' ? `${selector} | detected_level="error"` : selector;
}

/** Explore over the anomaly's query, from a while before it began to a while after its last change. */
export function exploreLink(anomaly: AlertTransition): string {
  const from = Date.parse(anomaly.active_at) - 30 * minute;
  const to = Math.min(Date.now(), Date.parse(anomaly.at) + 10 * minute);
  return `/ui/explore?${new URLSearchParams({ q: anomalyQuery(anomaly), from: String(from), to: String(to) })}`;
}

/** Anomalies found by the detectors: what, where, why (the detector's own explanation), and the data behind it. */
export function AnomalyList({ anomalies }: { anomalies: AlertTransition[] | undefined }) {
  const zone = useTimeZone();
  if (!anomalies) return <p class="dim">Loading…</p>;
  if (anomalies.length === 0) return <p class="empty">No anomalies in the last 24 hours.</p>;
  return (
    <table class="grid" aria-label="anomalies">
      <thead>
        <tr>
          <th>Since</th>
          <th>Detector</th>
          <th>Service</th>
          <th>State</th>
          <th>Explanation</th>
          <th>Criteria</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {anomalies.map((anomaly) => (
          <tr key={anomaly.fingerprint}>
            <td class="mono nowrap">{formatTime(Date.parse(anomaly.active_at), zone, false)}</td>
            <td class="nowrap">{anomaly.labels.detector?.replaceAll('_', ' ')}</td>
            <td>{anomaly.labels.service_name}</td>
            <td>
              <span class={`state ${anomaly.state}`}>{anomaly.state}</span>
            </td>
            <td>{anomaly.annotations.explanation}</td>
            <td>{anomaly.labels.criteria}</td>
            <td class="nowrap">
              <Link href={exploreLink(anomaly)} title={anomalyQuery(anomaly)}>
                Explore the data
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
