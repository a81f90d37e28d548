import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { storedTimeMs } from '../panels/auditTime';
import { useApi } from '../panels/useApi';
import { ActionOutcome, useAdminAction } from './adminAction';
import type { ErasureRequestResponse, ErasureRequestsResponse, ErasureRequestView } from '@api/erasure';

const statusClass = { pending: 'pending', cancelled: 'expired', executed: 'resolved' } as const;

/** Erasure requests (right to erasure): request one with a cancellation window, cancel it, or execute it now. */
export function ErasurePanel() {
  const zone = useTimeZone();
  const requests = useApi<ErasureRequestsResponse>('/api/v1/admin/erasure-requests');
  const { message, act } = useAdminAction(requests.reload);
  const [draft, setDraft] = useState({ tenant: 'default', selector: '', from: '', to: '', reason: '' });
  const time = (value: string | null) => (value ? formatTime(storedTimeMs(value), zone, false) : '');

  const submit = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      // The inputs are UTC minutes; the API takes RFC 3339.
      const body = { ...draft, from: `${draft.from}:00Z`, to: `${draft.to}:59.999Z` };
      const { request } = await api<ErasureRequestResponse>('/api/v1/admin/erasure-requests', { method: 'POST', body });
      setDraft({ ...draft, selector: '', reason: '' });
      return `Erasure request ${request.id} recorded; it runs after ${time(request.execute_after)} unless cancelled.`;
    });
  };
  const cancel = (request: ErasureRequestView) =>
    void act(async () => {
      const reason = prompt(`Why cancel erasure request ${request.id}?`);
      if (!reason) return undefined;
      await api(`/api/v1/admin/erasure-requests/${encodeURIComponent(request.id)}/cancel`, { method: 'POST', body: { reason } });
      return `Erasure request ${request.id} cancelled.`;
    });
  const execute = (request: ErasureRequestView) =>
    void act(async () => {
      if (
        !confirm(
          `Erase every record of ${request.selector} in ${request.tenant} from ${request.from} to ${request.to} now? This cannot be undone.`,
        )
      )
        return undefined;
      await api(`/api/v1/admin/erasure-requests/${encodeURIComponent(request.id)}/execute`, { method: 'POST' });
      return `Erasure request ${request.id} executed.`;
    });

  return (
    <section class="panel" aria-label="erasure requests">
      <h2>Erasure requests</h2>
      <form class="inline" onSubmit={submit}>
        <label>
          Tenant
          <input
            value={draft.tenant}
            onInput={(e) => setDraft({ ...draft, tenant: e.currentTarget.value })}
            required
            size={10}
            aria-label="erasure tenant"
          />
        </label>
        <label>
          Streams (LogQL selector)
          <input
            value={draft.selector}
            onInput={(e) => setDraft({ ...draft, selector: e.currentTarget.value })}
            required
            size={32}
            placeholder='{service_name="checkout", user="u-42"}'
            aria-label="erasure selector"
          />
        </label>
        <label>
          From (UTC)
          <input
            type="datetime-local"
            value={draft.from}
            onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
            required
            aria-label="erasure from"
          />
        </label>
        <label>
          To (UTC)
          <input
            type="datetime-local"
            value={draft.to}
            onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })}
            required
            aria-label="erasure to"
          />
        </label>
        <label>
          Reason
          <input
            value={draft.reason}
            onInput={(e) => setDraft({ ...draft, reason: e.currentTarget.value })}
            required
            size={24}
            aria-label="erasure reason"
          />
        </label>
        <button type="submit" class="primary">
          Request erasure
        </button>
      </form>
      <ActionOutcome message={message} />
      {requests.error && <p class="error">{requests.error}</p>}
      {requests.data && requests.data.requests.length === 0 && <p class="empty">No erasure requests.</p>}
      {requests.data && requests.data.requests.length > 0 && (
        <table class="grid" aria-label="erasure request list">
          <thead>
            <tr>
              <th>Streams</th>
              <th>Range</th>
              <th>Reason</th>
              <th>Requested</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {requests.data.requests.map((request) => (
              <tr key={request.id}>
                <td class="mono wrap">
                  {request.tenant} {request.selector}
                </td>
                <td>
                  {formatTime(Date.parse(request.from), zone, false)} → {formatTime(Date.parse(request.to), zone, false)}
                </td>
                <td>{request.reason}</td>
                <td>
                  {time(request.requested_at)} <span class="dim">by {request.requested_by}</span>
                </td>
                <td>
                  <span class={`state ${statusClass[request.status]}`}>{request.status}</span>
                  <div class="dim">
                    {request.status === 'pending'
                      ? `runs after ${time(request.execute_after)}`
                      : `${time(request.closed_at)} by ${request.closed_by}`}
                    {request.cancel_reason && `: ${request.cancel_reason}`}
                    {request.status === 'executed' &&
                      request.evidence?.records !== undefined &&
                      `, ${request.evidence.records} records erased`}
                  </div>
                </td>
                <td class="nowrap">
                  {request.status === 'pending' && (
                    <>
                      <button type="button" class="small" onClick={() => cancel(request)}>
                        Cancel
                      </button>{' '}
                      <button type="button" class="small" onClick={() => execute(request)}>
                        Execute now
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
