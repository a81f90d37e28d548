import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { Link } from '../../shell/Link';
import type { PageProps } from '../../shell/page';
import { navigate } from '../../shell/router';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { ActionOutcome, useAdminAction } from '../admin/adminAction';
import { useApi } from '../panels/useApi';
import '../panels/panels.css';
import type { IncidentResponse, IncidentsResponse } from '@api/incidents';
import { responseTime } from './responseTime';

const severities = ['critical', 'high', 'medium', 'low'] as const;

/** The tenant's incidents, newest first, with their response times; a new one opened by hand. */
export function IncidentsPage(_props: PageProps) {
  const zone = useTimeZone();
  const list = useApi<IncidentsResponse>('/api/v1/incidents');
  const { message, act } = useAdminAction(list.reload);
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState<(typeof severities)[number]>('high');

  const open = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const { incident } = await api<IncidentResponse>('/api/v1/incidents', { method: 'POST', body: { title, severity } });
      setTitle('');
      navigate(`/ui/incidents/${incident.id}`);
      return undefined;
    });
  };

  return (
    <div class="panels">
      <header>
        <h1>Incidents</h1>
      </header>
      <section class="panel" aria-label="open an incident">
        <h2>
          Open an incident <span class="dim">(alert rules marked open_incident open theirs on their own)</span>
        </h2>
        <form class="inline" onSubmit={open}>
          <label>
            Title{' '}
            <input
              aria-label="incident title"
              value={title}
              onInput={(event) => setTitle(event.currentTarget.value)}
              required
              maxLength={200}
              size={48}
            />
          </label>
          <label>
            Severity{' '}
            <select
              aria-label="severity"
              value={severity}
              onChange={(event) => setSeverity(event.currentTarget.value as (typeof severities)[number])}
            >
              {severities.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary" disabled={!title.trim()}>
            Open incident
          </button>
        </form>
        <ActionOutcome message={message} />
      </section>
      {list.error && <p class="error">{list.error}</p>}
      <section class="panel" aria-label="incidents">
        <table class="grid" aria-label="incident list">
          <thead>
            <tr>
              <th>Incident</th>
              <th>Severity</th>
              <th>State</th>
              <th>Opened</th>
              <th>Alerts</th>
              <th>Owner</th>
              <th>To acknowledge</th>
              <th>To resolve</th>
            </tr>
          </thead>
          <tbody>
            {(list.data?.incidents ?? []).map((incident) => (
              <tr key={incident.id} data-incident={incident.id}>
                <td>
                  <Link href={`/ui/incidents/${incident.id}`}>{incident.title}</Link> <span class="dim">{incident.id}</span>
                </td>
                <td>{incident.severity}</td>
                <td>{incident.state}</td>
                <td>
                  {formatTime(Date.parse(incident.opened_at), zone, false)}{' '}
                  <span class="dim">{incident.source === 'alert' ? 'by an alert' : `by ${incident.opened_by}`}</span>
                </td>
                <td>{incident.alerts.map((alert) => alert.alertname).join(', ') || '–'}</td>
                <td>{incident.owner || '–'}</td>
                <td>{responseTime(incident.seconds_to_acknowledge)}</td>
                <td>{responseTime(incident.seconds_to_resolve)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.data && list.data.incidents.length === 0 && <p class="dim">No incidents.</p>}
      </section>
    </div>
  );
}
