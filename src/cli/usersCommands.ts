import type { StoredUser } from '../storage/stores/userStore.js';
import { callServer, type ServerFlags } from './serverClient.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

export async function usersCreate(name: string, flags: ServerFlags & { email?: string; role: string[]; tenant: string[] }): Promise<void> {
  const { user } = await callServer<{ user: StoredUser }>(flags, 'POST', '/api/v1/admin/users', {
    name,
    email: flags.email ?? '',
    roles: flags.role,
    tenants: flags.tenant,
  });
  print(`created user ${user.name} (${user.roles.join(', ')} on ${user.tenants.join(', ')})`);
}

export async function usersList(flags: ServerFlags & { output: string }): Promise<void> {
  const { users } = await callServer<{ users: StoredUser[] }>(flags, 'GET', '/api/v1/admin/users');
  if (flags.output === 'json') return print(JSON.stringify(users, null, 2));
  print(['NAME', 'EMAIL', 'ROLES', 'TENANTS', 'STATE', 'KEYS', 'CREATED', 'CHANGED BY'].join('\t'));
  for (const user of users) {
    print(
      [
        user.name,
        user.email || '-',
        user.roles.join(','),
        user.tenants.join(','),
        user.state,
        user.key_ids.join(',') || '-',
        user.created_at,
        user.changed_by,
      ].join('\t'),
    );
  }
}

export async function usersUpdate(
  name: string,
  flags: ServerFlags & { email?: string; role?: string[]; tenant?: string[] },
): Promise<void> {
  const answer = await callServer<{ user: StoredUser; revoked_keys: string[]; ended_sessions: number }>(
    flags,
    'PATCH',
    `/api/v1/admin/users/${encodeURIComponent(name)}`,
    {
      email: flags.email,
      roles: flags.role,
      tenants: flags.tenant,
    },
  );
  print(`updated user ${answer.user.name} (${answer.user.roles.join(', ')} on ${answer.user.tenants.join(', ')})`);
  if (answer.revoked_keys.length > 0) print(`revoked keys that held more than the user now does: ${answer.revoked_keys.join(', ')}`);
  if (answer.ended_sessions > 0) print(`ended ${answer.ended_sessions} UI session(s)`);
}

export async function usersKey(
  name: string,
  flags: ServerFlags & { role?: string[]; tenant?: string[]; expires?: string; output: string },
): Promise<void> {
  const created = await callServer<{ id: string; key: string }>(flags, 'POST', `/api/v1/admin/users/${encodeURIComponent(name)}/keys`, {
    roles: flags.role,
    tenants: flags.tenant,
    expires_in: flags.expires,
  });
  if (flags.output === 'json') return print(JSON.stringify(created));
  print(`created key ${created.id} for user ${name}`);
  print(created.key);
  process.stderr.write('this is the only time the key is shown: store it now\n');
}

export async function usersSetState(verb: 'disable' | 'enable', name: string, flags: ServerFlags): Promise<void> {
  const answer = await callServer<{ user: StoredUser; revoked_keys: string[]; ended_sessions: number }>(
    flags,
    'POST',
    `/api/v1/admin/users/${encodeURIComponent(name)}/${verb}`,
  );
  print(
    `user ${answer.user.name} is ${answer.user.state}${answer.revoked_keys.length > 0 ? `; revoked keys ${answer.revoked_keys.join(', ')}` : ''}${answer.ended_sessions > 0 ? `; ended ${answer.ended_sessions} UI session(s)` : ''}`,
  );
}
