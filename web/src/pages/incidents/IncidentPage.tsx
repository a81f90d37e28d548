import { useState } from 'preact/hooks';
import { api, apiUrl } from '../../api/client';
import { Link } from '../../shell/Link';
import type { PageProps } from '../../shell/page';
import { useTimeZone } from '../../shell/preferences';
import { tenantQuery } from '../../shell/tenant';
import { formatTime } from '../../shell/timeFormat';
import { ActionOutcome, useAdminAction } from '../admin/adminAction';
import { useApi } from '../panels/useApi';
import '../panels/panels.css';
import type { Incident, IncidentDetailResponse, Pin } from '@api/incidents';
import { responseTime } from './responseTime';

/** One timeline event in a few words. */
function describe(entry: Incident['timeline'][number]): string {
  const d = entry.detail;
  switch (entry.kind) {
    case 'opened':
      return `opened: ${String(d.title)} (${String(d.severity)})`;
    case 'note':
      return String(d.text);
    case 'state':
      return `${String(d.from)} → ${String(d.to)}${d.reason ? ` (${String(d.reason)})` : ''}`;
    case 'pin': {
      const pin = d.pin as Pin;
      return pin.kind === 'line'
        ? `pinned line: ${pin.line}`
        : pin.kind === 'query'
          ? `pinned query ${pin.query}`
          : pin.kind === 'trace'
            ? `pinned trace ${pin.trace_id}`
            : `pinned pattern ${pin.pattern}`;
    }
    case 'alert_firing':
      return `alert ${String(d.alertname)} firing${d.summary ? `: ${String(d.summary)}` : ''}`;
    case 'alert_resolved':
      return `alert ${String(d.alertname)} resolved`;
    case 'exported':
      return `exported a signed bundle (${String(d.records)} records)`;
    default:
      return `${String(d.from ?? '')} → ${String(d.to ?? '')}`;
  }
}

function PinView({ pin }: { pin: Pin }) {
  switch (pin.kind) {
    case 'line':
      return (
        <>
          <span class="badge">{pin.service}</span> <span class="mono">{pin.line}</span> <span class="dim">{pin.record}</span>
        </>
      );
    case 'query':
      return (
        <Link
          href={`/ui/explore?${new URLSearchParams({ q: pin.query, from: String(Date.parse(pin.from)), to: String(Date.parse(pin.to)) })}`}
        >
          <span class="mono">{pin.query}</span>{' '}
          <span class="dim">
            {pin.from} – {pin.to}
          </span>
        </Link>
      );
    case 'trace':
      return <Link href={`/ui/trace/${pin.trace_id}`}>trace {pin.trace_id}</Link>;
    case 'pattern':
      return (
        <>
          <span class="badge">{pin.service}</span> <span class="mono">{pin.pattern}</span>
        </>
      );
  }
}

/** One incident: its facts, state buttons, linked alerts, pins, timeline, notes, and the signed export. */
export function IncidentPage({ params }: PageProps) {
  const zone = useTimeZone();
  const id = params.id ?? '';
  const path = `/api/v1/incidents/${encodeURIComponent(id)}`;
  const loaded = useApi<IncidentDetailResponse>(path);
  const { message, act } = useAdminAction(loaded.reload);
  const [note, setNote] = useState('');
  const incident = loaded.data?.incident;
  const time = (iso: string | null) => (iso ? formatTime(Date.parse(iso), zone, false) : 'not yet');

  const moveTo = (state: Incident['state']) =>
    void act(async () => {
      await api(`${path}/state`, { method: 'POST', body: { state } });
      return `Incident ${state}.`;
    });
  const addNote = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      await api(`${path}/notes`, { method: 'POST', body: { text: note } });
      setNote('');
      return 'Note added.';
    });
  };

  if (loaded.error) return <p class="notice error">{loaded.error}</p>;
  if (!incident) return <p class="dim">Loading…</p>;
  return (
    <div class="panels">
      <header>
        <h1>
          {incident.title} <span class="dim">{incident.id}</span>
        </h1>
      </header>
      <section class="panel" aria-label="incident facts">
        <p>
          <strong>{incident.state}</strong> · severity {incident.severity} · owner {incident.owner || '(unassigned)'} · opened{' '}
          {time(incident.opened_at)} {incident.source === 'alert' ? 'by an alert' : `by ${incident.opened_by}`}
        </p>
        <p>
          Acknowledged {time(incident.acknowledged_at)} ({responseTime(incident.seconds_to_acknowledge)}) · mitigated{' '}
          {time(incident.mitigated_at)} · resolved {time(incident.resolved_at)} ({responseTime(incident.seconds_to_resolve)})
        </p>
        <p class="dim">{loaded.data!.hold.holds_pins ? 'Pinned lines are held from retention.' : 'The hold on pinned lines has ended.'}</p>
        <div class="inline">
          {incident.state !== 'mitigated' && incident.state !== 'resolved' && (
            <button type="button" onClick={() => moveTo('mitigated')}>
              Mark mitigated
            </button>
          )}
          {incident.state !== 'resolved' && (
            <button type="button" class="primary" onClick={() => moveTo('resolved')}>
              Resolve
            </button>
          )}
          {incident.state === 'resolved' && (
            <button type="button" onClick={() => moveTo('open')}>
              Reopen
            </button>
          )}{' '}
          <a class="small" href={apiUrl(`${path}/export`, tenantQuery())} download={`incident-${incident.id}.json`}>
            Export signed bundle
          </a>{' '}
          <a class="small" href={apiUrl(`${path}/review`, tenantQuery())} download={`incident-${incident.id}-review.md`}>
            Post-incident review
          </a>
        </div>
        <ActionOutcome message={message} />
      </section>
      {incident.alerts.length > 0 && (
        <section class="panel" aria-label="linked alerts">
          <h2>Alerts</h2>
          <ul>
            {incident.alerts.map((alert) => (
              <li key={alert.fingerprint}>
                {alert.alertname}{' '}
                <span class="dim">
                  {Object.entries(alert.labels)
                    .filter(([name]) => name !== 'alertname')
                    .map(([name, value]) => `${name}=${value}`)
                    .join(' ')}
                </span>{' '}
                · {alert.state} since {time(alert.resolved_at ?? alert.fired_at)}
              </li>
            ))}
          </ul>
        </section>
      )}
      <section class="panel" aria-label="pinned evidence">
        <h2>Pinned</h2>
        {incident.pins.length === 0 && <p class="dim">Nothing pinned yet: pin lines and queries from Explore.</p>}
        <ul>
          {incident.pins.map((pin, i) => (
            <li key={i}>
              <PinView pin={pin} />{' '}
              <span class="dim">
                · {pin.pinned_by}
                {pin.note ? ` · ${pin.note}` : ''}
              </span>
            </li>
          ))}
        </ul>
      </section>
      <section class="panel" aria-label="timeline">
        <h2>Timeline</h2>
        <table class="grid" aria-label="timeline events">
          <tbody>
            {incident.timeline.map((entry, i) => (
              <tr key={i} data-kind={entry.kind}>
                <td class="mono">{time(entry.at)}</td>
                <td>{entry.by}</td>
                <td>{entry.kind}</td>
                <td>{describe(entry)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <form onSubmit={addNote}>
          <textarea
            aria-label="note"
            value={note}
            onInput={(event) => setNote(event.currentTarget.value)}
            rows={3}
            maxLength={10_000}
            style={{ width: '100%' }}
          />
          <button type="submit" disabled={!note.trim()}>
            Add note
          </button>
        </form>
      </section>
    </div>
  );
}
