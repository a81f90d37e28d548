import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import type { RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes and 2 meshlog nodes: what is changed through one node is in force on the other.
const tenant = 'cluster-test';
let cluster: TestCluster;
let a: ClusterNode;
let b: ClusterNode;

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
  [a, b] = cluster.nodes;
});

after(async () => {
  await cluster?.stop();
});

async function call(
  node: RunningMeshlog,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; tenant?: string; yaml?: string } = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? node.token}`,
      'x-scope-orgid': options.tenant ?? tenant,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.yaml !== undefined ? { 'content-type': 'application/yaml' } : {}),
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : options.yaml,
  });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** A Loki push of one line; the status tells whether the credential and tenant were accepted. */
async function push(node: RunningMeshlog, token: string, onTenant = tenant): Promise<number> {
  const body = { streams: [{ stream: { job: 'state' }, values: [[String(Date.now() * 1_000_000), 'a line']] }] };
  return (await call(node, 'POST', '/loki/api/v1/push', { body, token, tenant: onTenant })).status;
}

/** A query; the status tells whether the credential may read the tenant. */
async function query(node: RunningMeshlog, token: string): Promise<number> {
  return (await call(node, 'GET', '/loki/api/v1/labels', { token })).status;
}

const userOn = async (node: RunningMeshlog, name: string) =>
  ((await call(node, 'GET', '/api/v1/admin/users')).body.users as { name: string; state: string; roles: string[]; email: string }[]).find(
    (user) => user.name === name,
  );

const until = <T>(what: string, probe: () => Promise<T | undefined | false>) => waitFor(probe, { what, timeoutMs: 60_000, intervalMs: 50 });

test('a user disabled through node A is refused on node B: its key, and a new key for it', async (t) => {
  assert.equal(
    (await call(a.meshlog, 'POST', '/api/v1/admin/users', { body: { name: 'dana', roles: ['analyst'], tenants: [tenant] } })).status,
    201,
  );
  await until('B to know the user created on A', () => userOn(b.meshlog, 'dana'));
  // Issued through B, used on A: both the user's new key list and the key itself travel.
  const issued = await call(b.meshlog, 'POST', '/api/v1/admin/users/dana/keys', { body: {} });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  await until('the key issued on B to work on A', async () => (await query(a.meshlog, issued.body.key)) === 200);

  assert.equal((await call(a.meshlog, 'POST', '/api/v1/admin/users/dana/disable')).status, 200);
  const disabledAt = performance.now();
  await until('B to refuse the key of the user disabled on A', async () => (await query(b.meshlog, issued.body.key)) === 401);
  // A figure for the report (polled every 50 ms, so an upper bound), never a condition of the test.
  t.diagnostic(`refused on B ${Math.round(performance.now() - disabledAt)} ms after A answered the disable`);
  await until('B to see the user disabled', async () => (await userOn(b.meshlog, 'dana'))?.state === 'disabled');
  const refused = await call(b.meshlog, 'POST', '/api/v1/admin/users/dana/keys', { body: {} });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
});

test('a role and a tenant taken from a user through node A are refused on node B', async () => {
  const user = { name: 'eli', roles: ['analyst', 'ingester'], tenants: [tenant, 'second'] };
  assert.equal((await call(a.meshlog, 'POST', '/api/v1/admin/users', { body: user })).status, 201);
  await until('B to know the user', () => userOn(b.meshlog, 'eli'));
  const ingest = await call(b.meshlog, 'POST', '/api/v1/admin/users/eli/keys', { body: { roles: ['ingester'], tenants: [tenant] } });
  const second = await call(b.meshlog, 'POST', '/api/v1/admin/users/eli/keys', { body: { roles: ['analyst'], tenants: ['second'] } });
  assert.equal(ingest.status, 201);
  assert.equal(second.status, 201);
  await until(
    'A to take both keys',
    async () => (await push(a.meshlog, ingest.body.key)) === 204 && (await userOn(a.meshlog, 'eli'))?.roles,
  );

  const narrowed = await call(a.meshlog, 'PATCH', '/api/v1/admin/users/eli', { body: { roles: ['analyst'], tenants: [tenant] } });
  assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));
  await until('B to refuse the key of the role taken on A', async () => (await push(b.meshlog, ingest.body.key)) === 401);
  await until('B to refuse the key of the tenant taken on A', async () => (await push(b.meshlog, second.body.key, 'second')) === 401);
  await until('B to see the narrowed grants', async () => (await userOn(b.meshlog, 'eli'))?.roles.join() === 'analyst');
  const beyond = await call(b.meshlog, 'POST', '/api/v1/admin/users/eli/keys', { body: { roles: ['ingester'] } });
  assert.equal(beyond.status, 403, JSON.stringify(beyond.body));
});

test('a tenant disabled through node A is refused on node B, and enabled again is accepted', async (t) => {
  const registered = await call(a.meshlog, 'POST', '/api/v1/admin/tenants', { body: { name: 'offboarded', description: 'leaving' } });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  assert.equal(await push(b.meshlog, b.meshlog.token, 'offboarded'), 204);
  assert.equal((await call(a.meshlog, 'POST', '/api/v1/admin/tenants/offboarded/disable')).status, 200);
  const disabledAt = performance.now();
  await until('B to refuse the tenant disabled on A', async () => (await push(b.meshlog, b.meshlog.token, 'offboarded')) === 403);
  t.diagnostic(`refused on B ${Math.round(performance.now() - disabledAt)} ms after A answered the disable`);
  assert.equal((await call(b.meshlog, 'POST', '/api/v1/admin/tenants/offboarded/enable')).status, 200);
  await until('A to accept the tenant enabled on B', async () => (await push(a.meshlog, a.meshlog.token, 'offboarded')) === 204);
});

test('an alert rule group and a silence put through node A are in force on node B; the group deleted on B is gone from A', async () => {
  const group = 'name: replicated\nrules:\n  - alert: Never\n    expr: sum(count_over_time({job="nothing"}[1m])) > 1000000\n';
  assert.equal((await call(a.meshlog, 'POST', '/loki/api/v1/rules/ops', { yaml: group })).status, 202);
  const groupsOn = async (node: RunningMeshlog) =>
    ((await call(node, 'GET', '/prometheus/api/v1/rules')).body.data.groups as { name: string }[]).map((g) => g.name);
  await until('B to run the group put on A', async () => (await groupsOn(b.meshlog)).includes('replicated'));
  const silence = await call(a.meshlog, 'POST', '/api/v1/silences', {
    body: { matchers: { alertname: 'Never' }, duration: '1h', comment: 'replicated silence' },
  });
  assert.equal(silence.status, 201, JSON.stringify(silence.body));
  await until('B to hold the silence added on A', async () =>
    ((await call(b.meshlog, 'GET', '/api/v1/silences')).body.silences as { comment: string }[]).some(
      (s) => s.comment === 'replicated silence',
    ),
  );
  assert.equal((await call(b.meshlog, 'DELETE', '/loki/api/v1/rules/ops/replicated')).status, 202);
  await until('A to drop the group deleted on B', async () => !(await groupsOn(a.meshlog)).includes('replicated'));
});

test('a query saved through node A is found on node B, and deleted through B is gone from A', async () => {
  const saved = await call(a.meshlog, 'POST', '/api/v1/saved-queries', {
    body: { name: 'errors', query: '{job="state"} |= "error"', shared: true },
  });
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
  const savedOn = async (node: RunningMeshlog) =>
    ((await call(node, 'GET', '/api/v1/saved-queries')).body.savedQueries as { id: string }[]).some(
      (q) => q.id === saved.body.savedQuery.id,
    );
  await until('B to find the query saved on A', () => savedOn(b.meshlog));
  assert.equal((await call(b.meshlog, 'DELETE', `/api/v1/saved-queries/${saved.body.savedQuery.id}`)).status, 200);
  await until('A to lose the query deleted on B', async () => !(await savedOn(a.meshlog)));
});

test('a lesser role on node B cannot disable a user or a tenant, and nothing of the attempt reaches node A', async () => {
  assert.equal(
    (await call(a.meshlog, 'POST', '/api/v1/admin/users', { body: { name: 'fay', roles: ['analyst'], tenants: [tenant] } })).status,
    201,
  );
  assert.equal((await call(a.meshlog, 'POST', '/api/v1/admin/tenants', { body: { name: 'kept', description: 'stays' } })).status, 201);
  const analyst = await call(a.meshlog, 'POST', '/api/v1/admin/keys', { body: { name: 'reader', roles: ['analyst'], tenants: [tenant] } });
  const tenantAdmin = await call(a.meshlog, 'POST', '/api/v1/admin/keys', {
    body: { name: 'local admin', roles: ['admin'], tenants: [tenant] },
  });
  assert.equal(analyst.status, 201);
  assert.equal(tenantAdmin.status, 201);
  await until(
    'B to take the keys and the user',
    async () => (await query(b.meshlog, analyst.body.key)) === 200 && (await userOn(b.meshlog, 'fay')),
  );

  assert.equal((await call(b.meshlog, 'POST', '/api/v1/admin/users/fay/disable', { token: analyst.body.key })).status, 403);
  assert.equal((await call(b.meshlog, 'POST', '/api/v1/admin/tenants/kept/disable', { token: analyst.body.key })).status, 403);
  assert.equal(
    (await call(b.meshlog, 'POST', '/api/v1/admin/tenants/kept/disable', { token: tenantAdmin.body.key, tenant: 'kept' })).status,
    403,
  );
  const widened = await call(b.meshlog, 'POST', '/api/v1/admin/keys', {
    token: tenantAdmin.body.key,
    body: { name: 'wider', roles: ['admin'], tenants: ['*'] },
  });
  assert.equal(widened.status, 403, JSON.stringify(widened.body));

  // A change the admin makes through B after the refused attempts: once A has it, A would have had anything sent before it.
  assert.equal((await call(b.meshlog, 'PATCH', '/api/v1/admin/users/fay', { body: { email: 'fay@example.com' } })).status, 200);
  await until('A to take the change made after the attempts', async () => (await userOn(a.meshlog, 'fay'))?.email === 'fay@example.com');
  assert.equal((await userOn(a.meshlog, 'fay'))?.state, 'active');
  const tenantsOnA = (await call(a.meshlog, 'GET', '/api/v1/admin/tenants')).body.tenants as { name: string; state: string }[];
  assert.equal(tenantsOnA.find((t) => t.name === 'kept')?.state, 'active');
  assert.ok(!((await call(a.meshlog, 'GET', '/api/v1/admin/keys')).body.keys as { name: string }[]).some((key) => key.name === 'wider'));
});
