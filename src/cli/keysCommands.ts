import type { KeyView } from '../security/apiKeys.js';
import { callServer, type ServerFlags } from './serverClient.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

export async function keysCreate(
  flags: ServerFlags & { name: string; role: string[]; tenant: string[]; expires?: string; output: string },
): Promise<void> {
  const created = await callServer<{ id: string; key: string }>(flags, 'POST', '/api/v1/admin/keys', {
    name: flags.name,
    roles: flags.role,
    tenants: flags.tenant,
    expires_in: flags.expires,
  });
  if (flags.output === 'json') return print(JSON.stringify(created));
  // The key alone on stdout, for KEY=$(meshlog keys create … --output token); the notice still reaches a person on stderr.
  if (flags.output === 'token') {
    print(created.key);
    process.stderr.write(
      `created key ${created.id} (${flags.name}: ${flags.role.join(', ')} on ${flags.tenant.join(', ')}); this is the only time it is shown\n`,
    );
    return;
  }
  print(`created key ${created.id} (${flags.name}: ${flags.role.join(', ')} on ${flags.tenant.join(', ')})`);
  print(created.key);
  process.stderr.write('this is the only time the key is shown: store it now\n');
}

export async function keysList(flags: ServerFlags & { output: string }): Promise<void> {
  const { keys } = await callServer<{ keys: KeyView[] }>(flags, 'GET', '/api/v1/admin/keys');
  if (flags.output === 'json') return print(JSON.stringify(keys, null, 2));
  print(['ID', 'NAME', 'ROLES', 'TENANTS', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED'].join('\t'));
  for (const key of keys) {
    print(
      [
        key.id,
        key.name,
        key.roles.join(','),
        key.tenants.join(','),
        key.state,
        key.created_at,
        key.expires_at ?? '-',
        key.last_used_at ?? 'never',
      ].join('\t'),
    );
  }
}

export async function keysRevoke(id: string, flags: ServerFlags): Promise<void> {
  const { key } = await callServer<{ key: KeyView }>(flags, 'DELETE', `/api/v1/admin/keys/${encodeURIComponent(id)}`);
  print(`revoked key ${key.id} (${key.name})`);
}
