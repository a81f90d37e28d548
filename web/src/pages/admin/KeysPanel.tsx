import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { copyText } from '../../components/copyText';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { useApi } from '../panels/useApi';
import { roles, tenantList } from './roles';
import type { ApiKeysResponse, ApiKeyView, CreatedKeyResponse } from '@api/keys';

/** API keys: every key with its roles and tenants; create one (its secret shown once), revoke one. */
export function KeysPanel() {
  const zone = useTimeZone();
  const keys = useApi<ApiKeysResponse>('/api/v1/admin/keys');
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<string[]>(['analyst']);
  const [tenants, setTenants] = useState('default');
  const [expiresIn, setExpiresIn] = useState('90d');
  const [created, setCreated] = useState<{ id: string; key: string } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const time = (iso: string | null) => (iso ? formatTime(Date.parse(iso), zone, false) : '');

  const create = async (event: Event) => {
    event.preventDefault();
    try {
      setCreated(
        await api<CreatedKeyResponse>('/api/v1/admin/keys', {
          method: 'POST',
          body: { name, roles: chosen, tenants: tenantList(tenants), ...(expiresIn ? { expires_in: expiresIn } : {}) },
        }),
      );
      setError(undefined);
      setName('');
      keys.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const revoke = async (key: ApiKeyView) => {
    if (!confirm(`Revoke ${key.name} (${key.id})? Clients using it are refused from now on.`)) return;
    try {
      await api(`/api/v1/admin/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
      keys.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const toggle = (role: string) => setChosen(chosen.includes(role) ? chosen.filter((r) => r !== role) : [...chosen, role]);

  return (
    <>
      <section class="panel" aria-label="create a key">
        <h2>Create a key</h2>
        <form class="inline" onSubmit={create}>
          <label>
            Name
            <input
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
              required
              placeholder="who or what uses it"
              aria-label="key name"
            />
          </label>
          <fieldset>
            <legend class="dim">Roles</legend>
            {roles.map((role) => (
              <label key={role}>
                <input type="checkbox" checked={chosen.includes(role)} onChange={() => toggle(role)} /> {role}
              </label>
            ))}
          </fieldset>
          <label>
            Tenants
            <input
              value={tenants}
              onInput={(e) => setTenants(e.currentTarget.value)}
              size={16}
              aria-label="key tenants"
              title='comma-separated; "*" for every tenant'
            />
          </label>
          <label>
            Expires in
            <input
              value={expiresIn}
              onInput={(e) => setExpiresIn(e.currentTarget.value)}
              size={6}
              aria-label="expires in"
              title="e.g. 90d or 720h; empty: never"
            />
          </label>
          <button type="submit" class="primary" disabled={!name || chosen.length === 0}>
            Create key
          </button>
        </form>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {created && (
          <div class="secret-once" role="status" aria-label="new key">
            Key <strong>{created.id}</strong> created. Copy it now: it is shown only once and cannot be read back.
            <code>{created.key}</code>
            <button type="button" class="small" onClick={() => void copyText(created.key)}>
              Copy
            </button>{' '}
            <button type="button" class="small" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        )}
      </section>
      <section class="panel" aria-label="keys">
        <h2>Keys</h2>
        {keys.error && <p class="error">{keys.error}</p>}
        {keys.data && keys.data.keys.length === 0 && <p class="empty">No keys yet; only the bootstrap admin token can log in.</p>}
        {keys.data && keys.data.keys.length > 0 && (
          <table class="grid" aria-label="api keys">
            <thead>
              <tr>
                <th>Name</th>
                <th>Id</th>
                <th>Roles</th>
                <th>Tenants</th>
                <th>State</th>
                <th>Created</th>
                <th>Expires</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.keys.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td class="mono">{key.id}</td>
                  <td>{key.roles.join(', ')}</td>
                  <td>{key.tenants.join(', ')}</td>
                  <td>
                    <span
                      class={`state ${key.state}`}
                      title={key.revoked_at ? `revoked by ${key.revoked_by} at ${time(key.revoked_at)}` : undefined}
                    >
                      {key.state}
                    </span>
                  </td>
                  <td>
                    {time(key.created_at)} <span class="dim">by {key.created_by}</span>
                  </td>
                  <td>{time(key.expires_at) || <span class="dim">never</span>}</td>
                  <td>{time(key.last_used_at) || <span class="dim">never</span>}</td>
                  <td>
                    {key.state === 'active' && (
                      <button type="button" class="small" onClick={() => revoke(key)} aria-label={`revoke ${key.name}`}>
                        Revoke
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
