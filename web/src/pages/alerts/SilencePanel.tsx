import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { useTimeZone } from '../../shell/preferences';
import { useSession } from '../../shell/session';
import { effectiveTenant } from '../../shell/tenant';
import { formatTime } from '../../shell/timeFormat';
import { useApi } from '../panels/useApi';
import type { SilencesResponse } from '@api/alerts';

/** `alertname=CheckoutErrors, service_name=checkout` → matchers; undefined when a part is not name=value. */
function parseMatchers(text: string): Record<string, string> | undefined {
  const matchers: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((piece) => piece.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"?([^"]*)"?$/.exec(part);
    if (!match) return undefined;
    matchers[match[1]] = match[2];
  }
  return Object.keys(matchers).length > 0 ? matchers : undefined;
}

/** Silences (admins): what is held back, until when, by whom and why; create one, expire one. */
export function SilencePanel() {
  const zone = useTimeZone();
  const { identity } = useSession();
  const silences = useApi<SilencesResponse>('/api/v1/silences');
  const [matchers, setMatchers] = useState('');
  const [duration, setDuration] = useState('2h');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | undefined>();

  const create = async (event: Event) => {
    event.preventDefault();
    const parsed = parseMatchers(matchers);
    if (!parsed) return setError('matchers: name=value pairs separated by commas');
    try {
      await api('/api/v1/silences', { method: 'POST', body: { matchers: parsed, duration, comment } });
      setError(undefined);
      setMatchers('');
      setComment('');
      silences.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const expire = async (id: string) => {
    try {
      await api(`/api/v1/silences/${encodeURIComponent(id)}`, { method: 'DELETE' });
      silences.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return (
    <section class="panel" aria-label="silences">
      <h2>
        Silences <span class="dim">in tenant {effectiveTenant(identity.tenants)}</span>
      </h2>
      <form class="inline" onSubmit={create}>
        <label>
          Matchers
          <input
            value={matchers}
            onInput={(e) => setMatchers(e.currentTarget.value)}
            placeholder="alertname=CheckoutErrors, service_name=checkout"
            size={40}
          />
        </label>
        <label>
          For
          <input value={duration} onInput={(e) => setDuration(e.currentTarget.value)} size={6} />
        </label>
        <label>
          Why
          <input value={comment} onInput={(e) => setComment(e.currentTarget.value)} placeholder="planned maintenance" size={30} />
        </label>
        <button type="submit" class="primary">
          Silence
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {silences.error && <p class="error">{silences.error}</p>}
      {silences.data && silences.data.silences.length === 0 && <p class="empty">No silences.</p>}
      {silences.data && silences.data.silences.length > 0 && (
        <table class="grid" aria-label="silences">
          <thead>
            <tr>
              <th>Matchers</th>
              <th>Until</th>
              <th>By</th>
              <th>Why</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {silences.data.silences.map((silence) => (
              <tr key={silence.id}>
                <td class="mono">
                  {Object.entries(silence.matchers)
                    .map(([name, value]) => `${name}=${value}`)
                    .join(', ')}
                </td>
                <td>{formatTime(Date.parse(silence.ends_at), zone, false)}</td>
                <td>{silence.created_by}</td>
                <td>{silence.comment}</td>
                <td>
                  {silence.active ? (
                    <button type="button" class="small" onClick={() => expire(silence.id)}>
                      Expire
                    </button>
                  ) : (
                    <span class="state expired">ended</span>
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
