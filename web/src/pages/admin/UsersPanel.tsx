import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { copyText } from '../../components/copyText';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { storedTimeMs } from '../panels/auditTime';
import { useApi } from '../panels/useApi';
import { ActionOutcome, useAdminAction } from './adminAction';
import { roles, tenantList } from './roles';
import type { CreatedKeyResponse } from '@api/keys';
import type { User, UserChangeResponse, UsersResponse } from '@api/users';

/** People: create one with roles and tenants, change their grants (narrowing revokes keys that would hold more), issue them a key (never beyond their grants), disable (revoking their keys and ending their sessions) or enable. */
export function UsersPanel() {
  const zone = useTimeZone();
  const users = useApi<UsersResponse>('/api/v1/admin/users');
  const { message, setMessage, act } = useAdminAction(users.reload);
  const [form, setForm] = useState({ name: '', email: '', tenants: 'default' });
  const [chosen, setChosen] = useState<string[]>(['analyst']);
  const [issued, setIssued] = useState<{ user: string; id: string; key: string } | undefined>();
  /** The user whose grants the form is changing, instead of creating one. */
  const [editing, setEditing] = useState<string | undefined>();
  const time = (value: string) => formatTime(storedTimeMs(value), zone, false);

  const submit = (event: Event) => {
    event.preventDefault();
    if (editing) {
      void act(async () => {
        if (!confirm(`Change ${editing}'s grants? Keys issued to them that would hold more than the new grants are revoked now.`))
          return undefined;
        const result = await api<UserChangeResponse>(`/api/v1/admin/users/${encodeURIComponent(editing)}`, {
          method: 'PATCH',
          body: { email: form.email, roles: chosen, tenants: tenantList(form.tenants) },
        });
        cancelEdit();
        return `${editing} updated: ${result.revoked_keys.length} key(s) revoked, ${result.ended_sessions} session(s) ended.`;
      });
      return;
    }
    void act(async () => {
      await api('/api/v1/admin/users', {
        method: 'POST',
        body: { name: form.name, email: form.email, roles: chosen, tenants: tenantList(form.tenants) },
      });
      setForm({ ...form, name: '', email: '' });
      return `User ${form.name} created. Issue them a key to log in.`;
    });
  };
  const setState = (user: User, verb: 'disable' | 'enable') =>
    void act(async () => {
      if (verb === 'disable' && !confirm(`Disable ${user.name}? Every key issued to them is revoked and their sessions end now.`))
        return undefined;
      const result = await api<UserChangeResponse>(`/api/v1/admin/users/${encodeURIComponent(user.name)}/${verb}`, {
        method: 'POST',
        body: {},
      });
      return verb === 'disable'
        ? `${user.name} disabled: ${result.revoked_keys.length} key(s) revoked, ${result.ended_sessions ?? 0} session(s) ended.`
        : `${user.name} enabled: issue a new key (keys revoked when disabled stay revoked).`;
    });
  const issue = (user: User) =>
    void act(async () => {
      const created = await api<CreatedKeyResponse>(`/api/v1/admin/users/${encodeURIComponent(user.name)}/keys`, {
        method: 'POST',
        body: {},
      });
      setIssued({ user: user.name, ...created });
      setMessage(undefined);
      return undefined;
    });
  const edit = (user: User) => {
    setEditing(user.name);
    setForm({ name: user.name, email: user.email, tenants: user.tenants.join(', ') });
    setChosen(user.roles);
    setMessage(undefined);
  };
  const cancelEdit = () => {
    setEditing(undefined);
    setForm({ name: '', email: '', tenants: 'default' });
    setChosen(['analyst']);
  };
  const toggle = (role: string) => setChosen(chosen.includes(role) ? chosen.filter((r) => r !== role) : [...chosen, role]);

  return (
    <>
      <section class="panel" aria-label={editing ? 'change a user' : 'create a user'}>
        <h2>
          {editing ? `Change ${editing}` : 'Create a user'} <span class="dim">(keys issued to a user never hold more than the user)</span>
        </h2>
        <form class="inline" onSubmit={submit}>
          <label>
            Name
            <input
              value={form.name}
              onInput={(e) => setForm({ ...form, name: e.currentTarget.value })}
              required
              readOnly={editing !== undefined}
              aria-label="user name"
            />
          </label>
          <label>
            E-mail
            <input
              type="email"
              value={form.email}
              onInput={(e) => setForm({ ...form, email: e.currentTarget.value })}
              aria-label="user email"
            />
          </label>
          <fieldset>
            <legend class="dim">Roles</legend>
            {roles.map((role) => (
              <label key={role}>
                <input type="checkbox" checked={chosen.includes(role)} onChange={() => toggle(role)} aria-label={`user role ${role}`} />{' '}
                {role}
              </label>
            ))}
          </fieldset>
          <label>
            Tenants
            <input
              value={form.tenants}
              onInput={(e) => setForm({ ...form, tenants: e.currentTarget.value })}
              size={16}
              aria-label="user tenants"
              title='comma-separated; "*" for every tenant'
            />
          </label>
          <button type="submit" class="primary" disabled={!form.name || chosen.length === 0}>
            {editing ? 'Save changes' : 'Create user'}
          </button>
          {editing && (
            <button type="button" onClick={cancelEdit}>
              Cancel
            </button>
          )}
        </form>
        <ActionOutcome message={message} />
        {issued && (
          <div class="secret-once" role="status" aria-label="new user key">
            Key <strong>{issued.id}</strong> issued to {issued.user}. Copy it now: it is shown only once.
            <code>{issued.key}</code>
            <button type="button" class="small" onClick={() => void copyText(issued.key)}>
              Copy
            </button>{' '}
            <button type="button" class="small" onClick={() => setIssued(undefined)}>
              Done
            </button>
          </div>
        )}
      </section>
      <section class="panel" aria-label="users">
        <h2>Users</h2>
        {users.error && <p class="error">{users.error}</p>}
        {users.data && users.data.users.length === 0 && <p class="empty">No users yet.</p>}
        {users.data && users.data.users.length > 0 && (
          <table class="grid" aria-label="users">
            <thead>
              <tr>
                <th>Name</th>
                <th>E-mail</th>
                <th>Roles</th>
                <th>Tenants</th>
                <th>Keys</th>
                <th>State</th>
                <th>Created</th>
                <th>Changed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((user) => (
                <tr key={user.name}>
                  <td>{user.name}</td>
                  <td>{user.email || <span class="dim">none</span>}</td>
                  <td>{user.roles.join(', ')}</td>
                  <td>{user.tenants.join(', ')}</td>
                  <td class="mono">{user.key_ids.length}</td>
                  <td>
                    <span class={`state ${user.state}`}>{user.state}</span>
                  </td>
                  <td>
                    {time(user.created_at)} <span class="dim">by {user.created_by}</span>
                  </td>
                  <td>
                    {time(user.changed_at)} <span class="dim">by {user.changed_by}</span>
                  </td>
                  <td class="nowrap">
                    {user.state === 'active' ? (
                      <>
                        <button type="button" class="small" onClick={() => edit(user)} aria-label={`change ${user.name}`}>
                          Change
                        </button>{' '}
                        <button type="button" class="small" onClick={() => issue(user)} aria-label={`issue a key to ${user.name}`}>
                          Issue key
                        </button>{' '}
                        <button type="button" class="small" onClick={() => setState(user, 'disable')} aria-label={`disable ${user.name}`}>
                          Disable
                        </button>
                      </>
                    ) : (
                      <button type="button" class="small" onClick={() => setState(user, 'enable')} aria-label={`enable ${user.name}`}>
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
