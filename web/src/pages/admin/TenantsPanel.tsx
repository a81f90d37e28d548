import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { storedTimeMs } from '../panels/auditTime';
import { useApi } from '../panels/useApi';
import { ActionOutcome, useAdminAction } from './adminAction';
import type { Tenant, TenantsResponse } from '@api/tenants';

/** The tenant registry: register a tenant, disable one (its ingest and queries refused with every credential) or enable it again. */
export function TenantsPanel() {
  const zone = useTimeZone();
  const tenants = useApi<TenantsResponse>('/api/v1/admin/tenants');
  const { message, act } = useAdminAction(tenants.reload);
  const [form, setForm] = useState({ name: '', description: '' });
  const time = (value: string) => formatTime(storedTimeMs(value), zone, false);

  const create = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      await api('/api/v1/admin/tenants', { method: 'POST', body: form });
      setForm({ name: '', description: '' });
      return `Tenant ${form.name} registered.`;
    });
  };
  const setState = (tenant: Tenant, verb: 'disable' | 'enable') =>
    void act(async () => {
      if (
        verb === 'disable' &&
        !confirm(`Disable ${tenant.name}? Its ingest and queries are refused for every key until it is enabled again.`)
      )
        return undefined;
      await api(`/api/v1/admin/tenants/${encodeURIComponent(tenant.name)}/${verb}`, { method: 'POST', body: {} });
      return `Tenant ${tenant.name} ${verb}d.`;
    });

  return (
    <>
      <section class="panel" aria-label="register a tenant">
        <h2>
          Register a tenant{' '}
          <span class="dim">(keys and listeners may name unregistered tenants; only registered ones can be disabled)</span>
        </h2>
        <form class="inline" onSubmit={create}>
          <label>
            Name
            <input value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} required aria-label="tenant name" />
          </label>
          <label>
            Description
            <input
              value={form.description}
              onInput={(e) => setForm({ ...form, description: e.currentTarget.value })}
              size={40}
              aria-label="tenant description"
            />
          </label>
          <button type="submit" class="primary" disabled={!form.name}>
            Register tenant
          </button>
        </form>
        <ActionOutcome message={message} />
      </section>
      <section class="panel" aria-label="tenants">
        <h2>Tenants</h2>
        {tenants.error && <p class="error">{tenants.error}</p>}
        {tenants.data && tenants.data.tenants.length === 0 && <p class="empty">No registered tenants.</p>}
        {tenants.data && tenants.data.tenants.length > 0 && (
          <table class="grid" aria-label="tenants">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>State</th>
                <th>Registered</th>
                <th>Changed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tenants.data.tenants.map((tenant) => (
                <tr key={tenant.name}>
                  <td>{tenant.name}</td>
                  <td class="wrap">{tenant.description || <span class="dim">none</span>}</td>
                  <td>
                    <span class={`state ${tenant.state}`}>{tenant.state}</span>
                  </td>
                  <td>
                    {time(tenant.created_at)} <span class="dim">by {tenant.created_by}</span>
                  </td>
                  <td>
                    {time(tenant.changed_at)} <span class="dim">by {tenant.changed_by}</span>
                  </td>
                  <td>
                    {tenant.state === 'active' ? (
                      <button
                        type="button"
                        class="small"
                        onClick={() => setState(tenant, 'disable')}
                        aria-label={`disable tenant ${tenant.name}`}
                      >
                        Disable
                      </button>
                    ) : (
                      <button
                        type="button"
                        class="small"
                        onClick={() => setState(tenant, 'enable')}
                        aria-label={`enable tenant ${tenant.name}`}
                      >
                        Enable
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
