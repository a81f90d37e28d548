import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import type { AlertTransition } from '@api/alerts';

/** Alerts firing now, with who took each on; whoever is on call acknowledges here (the time it took is SOC 2 evidence). */
export function FiringAlerts({ alerts, onChange }: { alerts: AlertTransition[] | undefined; onChange: () => void }) {
  const zone = useTimeZone();
  const [error, setError] = useState('');
  if (!alerts) return <p class="dim">Loading…</p>;
  const firing = alerts.filter((alert) => alert.state === 'firing');
  if (firing.length === 0) return <p class="empty">Nothing is firing.</p>;
  const acknowledge = async (alert: AlertTransition) => {
    const comment = window.prompt(`Acknowledge ${alert.alertname}: a note for the record (optional)`);
    if (comment === null) return;
    try {
      await api('/api/v1/alerts/acknowledge', { method: 'POST', body: { fingerprint: alert.fingerprint, comment } });
      setError('');
      onChange();
    } catch (caught) {
      setError((caught as Error).message);
    }
  };
  return (
    <>
      {error && <p class="error">{error}</p>}
      <table class="grid" aria-label="firing alerts">
        <thead>
          <tr>
            <th>Since</th>
            <th>Alert</th>
            <th>Summary</th>
            <th>Acknowledged</th>
          </tr>
        </thead>
        <tbody>
          {firing.map((alert) => (
            <tr key={alert.fingerprint}>
              <td class="mono nowrap">{formatTime(Date.parse(alert.active_at), zone, false)}</td>
              <td class="nowrap">{alert.alertname}</td>
              <td>{alert.annotations.summary ?? alert.annotations.explanation ?? ''}</td>
              <td>
                {alert.acknowledged ? (
                  <span title={alert.acknowledged.comment}>
                    by {alert.acknowledged.by} after {Math.round(alert.acknowledged.seconds_to_acknowledge)} s
                  </span>
                ) : (
                  <button type="button" class="small" onClick={() => acknowledge(alert)}>
                    Acknowledge
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
