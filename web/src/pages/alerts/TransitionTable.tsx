import type { AlertTransition } from '@api/alerts';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';

const shownLabels = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([name]) => name !== 'alertname')
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');

/** State changes, newest first. */
export function TransitionTable({ transitions }: { transitions: AlertTransition[] | undefined }) {
  const zone = useTimeZone();
  if (!transitions) return <p class="dim">Loading…</p>;
  if (transitions.length === 0) return <p class="empty">No alert has changed state yet.</p>;
  const newestFirst = [...transitions].sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, 200);
  return (
    <table class="grid" aria-label="alert history">
      <thead>
        <tr>
          <th>At</th>
          <th>Alert</th>
          <th>State</th>
          <th>Labels</th>
          <th>Value</th>
          <th>Summary</th>
        </tr>
      </thead>
      <tbody>
        {newestFirst.map((transition) => (
          <tr key={`${transition.fingerprint}@${transition.at}@${transition.state}`}>
            <td class="mono">{formatTime(Date.parse(transition.at), zone, false)}</td>
            <td>{transition.alertname}</td>
            <td>
              <span class={`state ${transition.state}`}>{transition.state}</span>
            </td>
            <td class="mono">{shownLabels(transition.labels)}</td>
            <td>{transition.value}</td>
            <td>{transition.annotations.summary ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
