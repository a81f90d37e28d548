import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest } from '../../support/otlpJson.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};

function meshlogCli(args: string[], token: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cli, ...args, '--server', meshlog.url], {
    encoding: 'utf8',
    env: { ...process.env, MESHLOG_TOKEN: token },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function createKey(name: string, roles: string[], tenants: string[]): string {
  const run = meshlogCli(
    [
      'keys',
      'create',
      '--name',
      name,
      ...roles.flatMap((role) => ['--role', role]),
      ...tenants.flatMap((tenant) => ['--tenant', tenant]),
      '--output',
      'json',
    ],
    meshlog.token,
  );
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { key: string }).key;
}

async function call(
  method: string,
  path: string,
  token: string | undefined,
  options: { tenant?: string; body?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.tenant) headers['x-scope-orgid'] = options.tenant;
  return fetch(`${meshlog.url}${path}`, { method, headers, body: options.body });
}

before(async () => {
  meshlog = await startMeshlog();
  keys.ingesterAcme = createKey('shipper acme', ['ingester'], ['acme']);
  keys.ingesterBeta = createKey('shipper beta', ['ingester'], ['beta']);
  keys.analystAcme = createKey('analyst acme', ['analyst'], ['acme']);
  keys.auditor = createKey('auditor', ['auditor'], ['*']);
  keys.admin = createKey('second admin', ['admin'], ['*']);
  // Combining roles never widens the tenant restriction.
  keys.analystIngesterAcme = createKey('both acme', ['analyst', 'ingester'], ['acme']);
  for (const [key, tenant] of [
    [keys.ingesterAcme, 'acme'],
    [keys.ingesterBeta, 'beta'],
  ]) {
    const response = await call('POST', '/v1/logs', key, { tenant, body: otlpJsonRequest(`svc-${tenant}`, [`secret of ${tenant}`]) });
    assert.equal(response.status, 200, await response.text());
  }
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('permission matrix: every role against ingest, query, audit, integrity and admin endpoints', async () => {
  const now = Date.now() * 1e6;
  const range = `start=${now - 3600e9}&end=${now + 60e9}`;
  const endpoints: [string, string, string, string?][] = [
    ['ingest', 'POST', '/v1/logs', otlpJsonRequest('matrix', ['m'])],
    ['query', 'GET', `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name=~".+"}')}&${range}`],
    ['labels', 'GET', `/loki/api/v1/labels?${range}`],
    ['series', 'GET', `/loki/api/v1/series?${range}&match[]=${encodeURIComponent('{service_name=~".+"}')}`],
    ['audit', 'GET', '/api/v1/audit?since=1h'],
    ['integrity', 'GET', '/api/v1/integrity/checkpoints'],
    ['metrics', 'GET', '/metrics'],
    ['admin', 'GET', '/api/v1/admin/keys'],
  ];
  const allowed: Record<string, string[]> = {
    ingesterAcme: ['ingest'],
    analystAcme: ['query', 'labels', 'series'],
    auditor: ['audit', 'integrity', 'metrics'],
    admin: endpoints.map(([name]) => name),
    analystIngesterAcme: ['ingest', 'query', 'labels', 'series'],
  };
  for (const [who, permitted] of Object.entries(allowed)) {
    for (const [name, method, path, body] of endpoints) {
      const response = await call(method, path, keys[who], { tenant: who.endsWith('Acme') ? 'acme' : undefined, body });
      const text = await response.text();
      if (permitted.includes(name)) assert.ok(response.status < 300, `${who} → ${name}: ${response.status} ${text}`);
      else assert.equal(response.status, 403, `${who} → ${name}: ${text}`);
    }
  }
  for (const [name, method, path, body] of endpoints) {
    assert.equal((await call(method, path, undefined, { body })).status, 401, `anonymous → ${name}`);
    assert.equal(
      (await call(method, path, 'mlk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { body })).status,
      401,
      `unknown key → ${name}`,
    );
  }
  assert.equal((await call('GET', '/ready', undefined)).status, 200, 'probes stay public');
});

test('a key of tenant acme can never read or write tenant beta', async () => {
  const write = await call('POST', '/v1/logs', keys.ingesterAcme, { tenant: 'beta', body: otlpJsonRequest('x', ['smuggled']) });
  assert.equal(write.status, 403);
  assert.match(await write.text(), /may not act on tenant \\?"beta/);
  const now = Date.now() * 1e6;
  const range = `start=${now - 3600e9}&end=${now + 60e9}`;
  for (const path of [
    `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name=~".+"}')}&${range}`,
    `/loki/api/v1/label/service_name/values?${range}`,
    `/loki/api/v1/series?${range}&match[]=${encodeURIComponent('{service_name=~".+"}')}`,
  ]) {
    assert.equal((await call('GET', path, keys.analystAcme, { tenant: 'beta' })).status, 403, path);
    const own = await (await call('GET', path, keys.analystAcme, { tenant: 'acme' })).text();
    assert.ok(!own.includes('beta'), `${path} leaks tenant beta: ${own}`);
  }
  // Label tricks select within the tenant, never across it.
  const tricked = await call(
    'GET',
    `/loki/api/v1/query_range?query=${encodeURIComponent('{tenant="beta"} or {service_name="svc-beta"}')}&${range}`,
    keys.analystAcme,
    { tenant: 'acme' },
  );
  assert.ok(!(await tricked.text()).includes('secret of beta'));
  const unionTrick = await call(
    'GET',
    `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="svc-beta"}')}&${range}`,
    keys.analystAcme,
    { tenant: 'acme|beta' },
  );
  // Loki's multi-tenant form passes the same tenant check for every tenant it names (test/lokiMultiTenantQueries.test.ts).
  assert.equal(unionTrick.status, 403, 'a multi-tenant read naming a tenant the key lacks is refused');
  assert.ok(!(await unionTrick.text()).includes('secret of beta'));
  assert.equal(
    (await call('GET', `/loki/api/v1/labels?${range}`, keys.admin, { tenant: '_audit' })).status,
    403,
    'the audit tenant is reserved',
  );
  const beta = await (
    await call('GET', `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="svc-beta"}')}&${range}`, keys.admin, {
      tenant: 'beta',
    })
  ).text();
  assert.ok(beta.includes('secret of beta'), 'the data is there for a credential that holds beta');
});

test('revoked keys stop working at once; keys list shows state and last use', async () => {
  const key = createKey('short lived', ['ingester'], ['acme']);
  assert.equal((await call('POST', '/v1/logs', key, { body: otlpJsonRequest('r', ['before revoke']) })).status, 200);
  const list = meshlogCli(['keys', 'list', '--output', 'json'], meshlog.token);
  const listed = (JSON.parse(list.stdout) as { id: string; name: string; state: string; last_used_at: string | null }[]).find(
    (entry) => entry.name === 'short lived',
  )!;
  assert.equal(listed.state, 'active');
  assert.ok(listed.last_used_at, 'last use is tracked');
  // mlk_<12 hex id>_<secret>: the secret is base64url, so it may hold '_' itself.
  assert.ok(!list.stdout.includes(key.slice('mlk_000000000000_'.length)), 'the secret is never listed');
  assert.equal(meshlogCli(['keys', 'revoke', listed.id], meshlog.token).status, 0);
  const refused = await call('POST', '/v1/logs', key, { body: otlpJsonRequest('r', ['after revoke']) });
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /revoked/);
  assert.equal(meshlogCli(['keys', 'list'], keys.analystAcme).status, 1, 'only admins manage keys');
});

test('each privileged action leaves exactly one audit record with who, what, when, where and the outcome', async () => {
  const run = meshlogCli(['audit', '--since', '1h', '--output', 'json', '--limit', '5000'], keys.auditor);
  assert.equal(run.status, 0, run.stderr);
  const events = JSON.parse(run.stdout) as {
    time: string;
    action: string;
    outcome: string;
    actor_name: string;
    remote_address: string;
    target: string;
    detail: string;
  }[];
  const creates = events.filter((event) => event.action === 'keys.create');
  assert.deepEqual(
    creates.map((event) => JSON.parse(event.detail).name).sort(),
    ['auditor', 'both acme', 'second admin', 'short lived', 'shipper acme', 'shipper beta', 'analyst acme'].sort(),
  );
  for (const event of creates) {
    assert.equal(event.actor_name, 'bootstrap admin');
    assert.equal(event.outcome, 'success');
    assert.match(event.remote_address, /127\.0\.0\.1/);
    assert.match(event.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$/, 'UTC ISO 8601 with Z');
  }
  assert.equal(events.filter((event) => event.action === 'keys.revoke').length, 1);
  const denials = events.filter((event) => event.action === 'access.denied');
  assert.ok(
    denials.some((event) => event.actor_name === 'shipper acme' && JSON.parse(event.detail).tenant === 'beta'),
    'the cross-tenant write attempt',
  );
  assert.ok(
    events.some((event) => event.action === 'auth.failure' && /revoked/.test(event.detail)),
    'the revoked key',
  );
  assert.ok(
    events.some((event) => event.action === 'query' && event.actor_name === 'analyst acme'),
    'who read what',
  );
  assert.ok(events.some((event) => event.action === 'server.start'));
  assert.equal(meshlogCli(['audit'], keys.analystAcme).status, 1, 'analysts cannot read the audit trail');
});
