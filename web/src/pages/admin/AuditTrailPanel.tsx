import { useState } from 'preact/hooks';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { storedTimeMs } from '../panels/auditTime';
import { useApi } from '../panels/useApi';
import type { AuditEventsResponse } from '@api/audit';

const sinceChoices = ['1h', '24h', '168h', '720h'];

/** The audit trail, newest first, filtered by action, actor, outcome and age (the server filters). */
export function AuditTrailPanel() {
  const zone = useTimeZone();
  const [filters, setFilters] = useState({ action: '', actor: '', outcome: '', since: '24h' });
  const [draft, setDraft] = useState(filters);
  const events = useApi<AuditEventsResponse>('/api/v1/audit', {
    since: filters.since,
    action: filters.action || undefined,
    actor: filters.actor || undefined,
    outcome: filters.outcome || undefined,
    limit: 500,
  });
  const apply = (event: Event) => {
    event.preventDefault();
    setFilters(draft);
  };

  return (
    <section class="panel" aria-label="audit trail">
      <h2>Audit trail</h2>
      <form class="inline" onSubmit={apply}>
        <label>
          Action
          <input
            value={draft.action}
            onInput={(e) => setDraft({ ...draft, action: e.currentTarget.value })}
            placeholder="keys.create"
            aria-label="audit action"
          />
        </label>
        <label>
          Actor
          <input
            value={draft.actor}
            onInput={(e) => setDraft({ ...draft, actor: e.currentTarget.value })}
            placeholder="name or id"
            aria-label="audit actor"
          />
        </label>
        <label>
          Outcome
          <select value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.currentTarget.value })} aria-label="audit outcome">
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </label>
        <label>
          Since
          <select value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.currentTarget.value })} aria-label="audit since">
            {sinceChoices.map((choice) => (
              <option key={choice} value={choice}>
                last {choice}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Filter
        </button>
        {events.data && (
          <span class="dim">
            {events.data.events.length} events{events.data.events.length === 500 ? ' (newest 500)' : ''}
          </span>
        )}
      </form>
      {events.error && <p class="error">{events.error}</p>}
      {events.data && events.data.events.length === 0 && <p class="empty">No audit events match.</p>}
      {events.data && events.data.events.length > 0 && (
        <table class="grid" aria-label="audit events">
          <thead>
            <tr>
              <th>Time</th>
              <th>Action</th>
              <th>Outcome</th>
              <th>Actor</th>
              <th>From</th>
              <th>Tenant</th>
              <th>Target</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {events.data.events.map((event, index) => (
              <tr key={`${event.time}-${index}`}>
                <td class="mono nowrap">{formatTime(storedTimeMs(event.time), zone)}</td>
                <td class="nowrap">{event.action}</td>
                <td>
                  <span class={`state ${event.outcome}`}>{event.outcome}</span>
                </td>
                <td title={`${event.actor_kind} ${event.actor_id}`}>{event.actor_name || event.actor_id}</td>
                <td class="mono nowrap">{event.remote_address}</td>
                <td>{event.tenant}</td>
                <td class="mono wrap">{event.target}</td>
                <td class="mono dim wrap">{event.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
