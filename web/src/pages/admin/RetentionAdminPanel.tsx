import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { storedTimeMs } from '../panels/auditTime';
import { useApi } from '../panels/useApi';
import type { LegalHold, RetentionResponse, RetentionRunResponse } from '@api/retention';

function age(seconds: number): string {
  return seconds % 86_400 === 0 ? `${seconds / 86_400} days` : seconds % 3600 === 0 ? `${seconds / 3600} hours` : `${seconds} s`;
}

/** Retention policies in force (from the config, first match wins), legal holds (place, release) and a disposal run now. */
export function RetentionAdminPanel() {
  const zone = useTimeZone();
  const retention = useApi<RetentionResponse>('/api/v1/admin/retention');
  const [hold, setHold] = useState({ name: '', tenant: 'default', service: '', reason: '' });
  const [message, setMessage] = useState<{ text: string; error: boolean } | undefined>();
  const time = (value: string | null) => (value ? formatTime(storedTimeMs(value), zone, false) : '');

  const act = async (call: () => Promise<string>) => {
    try {
      setMessage({ text: await call(), error: false });
      retention.reload();
    } catch (failure) {
      setMessage({ text: (failure as Error).message, error: true });
    }
  };
  const place = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      await api('/api/v1/admin/legal-holds', {
        method: 'POST',
        body: { name: hold.name, tenant: hold.tenant, reason: hold.reason, ...(hold.service ? { service: hold.service } : {}) },
      });
      setHold({ ...hold, name: '', reason: '' });
      return `Legal hold ${hold.name} placed: nothing it covers is disposed until it is released.`;
    });
  };
  const release = (held: LegalHold) =>
    void act(async () => {
      if (!confirm(`Release the legal hold ${held.name}? Records it kept become subject to their policy again.`)) return 'Not released.';
      await api(`/api/v1/admin/legal-holds/${encodeURIComponent(held.id)}`, { method: 'DELETE' });
      return `Legal hold ${held.name} released.`;
    });
  const dispose = () =>
    void act(async () => {
      const result = await api<RetentionRunResponse>('/api/v1/admin/retention/run', { method: 'POST' });
      return `Disposal run finished: ${JSON.stringify(result.disposed)}`;
    });

  return (
    <>
      {message && (
        <p class={message.error ? 'error' : 'dim'} role={message.error ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
      <section class="panel" aria-label="retention policies">
        <h2>
          Retention policies <span class="dim">(from the config; the first that matches a record decides)</span>
          <span class="spacer" />
          <button type="button" class="small" onClick={dispose}>
            Run disposal now
          </button>
        </h2>
        {retention.error && <p class="error">{retention.error}</p>}
        {retention.data && (
          <table class="grid" aria-label="policies">
            <thead>
              <tr>
                <th>Policy</th>
                <th>Tenant</th>
                <th>Service</th>
                <th>Severity up to</th>
                <th>Keeps</th>
              </tr>
            </thead>
            <tbody>
              {retention.data.policies.map((policy) => (
                <tr key={policy.name}>
                  <td>{policy.name}</td>
                  <td>{policy.tenant ?? <span class="dim">any</span>}</td>
                  <td>{policy.service ?? <span class="dim">any</span>}</td>
                  <td>{policy.maxSeverity ?? <span class="dim">any</span>}</td>
                  <td>{age(policy.maxAgeSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="panel" aria-label="legal holds">
        <h2>Legal holds</h2>
        <form class="inline" onSubmit={place}>
          <label>
            Name
            <input value={hold.name} onInput={(e) => setHold({ ...hold, name: e.currentTarget.value })} required aria-label="hold name" />
          </label>
          <label>
            Tenant
            <input
              value={hold.tenant}
              onInput={(e) => setHold({ ...hold, tenant: e.currentTarget.value })}
              required
              size={12}
              aria-label="hold tenant"
            />
          </label>
          <label>
            Service (empty: all)
            <input
              value={hold.service}
              onInput={(e) => setHold({ ...hold, service: e.currentTarget.value })}
              size={12}
              aria-label="hold service"
            />
          </label>
          <label>
            Reason
            <input
              value={hold.reason}
              onInput={(e) => setHold({ ...hold, reason: e.currentTarget.value })}
              required
              size={30}
              aria-label="hold reason"
            />
          </label>
          <button type="submit" class="primary">
            Place hold
          </button>
        </form>
        {retention.data && retention.data.holds.length === 0 && <p class="empty">No legal holds.</p>}
        {retention.data && retention.data.holds.length > 0 && (
          <table class="grid" aria-label="holds">
            <thead>
              <tr>
                <th>Name</th>
                <th>Covers</th>
                <th>Reason</th>
                <th>Placed</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {retention.data.holds.map((held) => (
                <tr key={held.id}>
                  <td>{held.name}</td>
                  <td>
                    {held.tenant} / {held.service || 'every service'}
                    {(held.from_time || held.to_time) && (
                      <div class="dim">
                        {held.from_time ?? 'the beginning'} → {held.to_time ?? 'release'}
                      </div>
                    )}
                  </td>
                  <td>{held.reason}</td>
                  <td>
                    {time(held.created_at)} <span class="dim">by {held.created_by}</span>
                  </td>
                  <td>
                    {held.released_at ? (
                      <span class="state expired">released {time(held.released_at)}</span>
                    ) : (
                      <span class="state active">in force</span>
                    )}
                  </td>
                  <td>
                    {!held.released_at && (
                      <button type="button" class="small" onClick={() => release(held)}>
                        Release
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
