import type { StoredTenant } from '../storage/stores/tenantStore.js';
import { callServer, type ServerFlags } from './serverClient.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

export async function tenantsCreate(name: string, flags: ServerFlags & { description?: string }): Promise<void> {
  const { tenant } = await callServer<{ tenant: StoredTenant }>(flags, 'POST', '/api/v1/admin/tenants', {
    name,
    description: flags.description ?? '',
  });
  print(`registered tenant ${tenant.name}`);
}

export async function tenantsList(flags: ServerFlags & { output: string }): Promise<void> {
  const { tenants } = await callServer<{ tenants: StoredTenant[] }>(flags, 'GET', '/api/v1/admin/tenants');
  if (flags.output === 'json') return print(JSON.stringify(tenants, null, 2));
  print(['NAME', 'STATE', 'CREATED', 'BY', 'CHANGED', 'BY', 'DESCRIPTION'].join('\t'));
  for (const tenant of tenants) {
    print(
      [tenant.name, tenant.state, tenant.created_at, tenant.created_by, tenant.changed_at, tenant.changed_by, tenant.description].join(
        '\t',
      ),
    );
  }
}

export async function tenantsSetState(verb: 'disable' | 'enable', name: string, flags: ServerFlags): Promise<void> {
  const { tenant } = await callServer<{ tenant: StoredTenant }>(flags, 'POST', `/api/v1/admin/tenants/${encodeURIComponent(name)}/${verb}`);
  print(`tenant ${tenant.name} is ${tenant.state}`);
}
