import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';

/**
 * The attacker's matrix: credentials of every role for tenant acme (and an
 * admin of globex), against every route the server itself lists. A route
 * added later without a declaration stops the server from starting; one
 * declared wrongly shows up here.
 */
let meshlog: RunningMeshlog;
const roles = ['admin', 'analyst', 'auditor', 'ingester', 'unmasker'] as const;
const permissionsOf: Record<string, string[]> = {
  admin: ['ingest', 'query', 'audit', 'admin'],
  analyst: ['query'],
  auditor: ['audit'],
  ingester: ['ingest'],
  unmasker: ['unmask'],
};
const acme: Record<string, { id: string; key: string }> = {};
const globex: Record<string, { id: string; key: string }> = {};

interface Route {
  method: string;
  url: string;
  permission: string;
  tenancy: 'none' | 'request' | 'named' | 'all';
}

async function call(
  method: string,
  path: string,
  token: string | undefined,
  options: { tenant?: string; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.tenant) headers['x-scope-orgid'] = options.tenant;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not every answer is JSON (NDJSON, text, HTML).
  }
  return { status: response.status, body };
}

async function createKey(
  token: string,
  grant: { name: string; roles: string[]; tenants: string[] },
): Promise<{ status: number; body: any }> {
  return call('POST', '/api/v1/admin/keys', token, { body: grant });
}

async function ingest(tenant: string, body: string): Promise<void> {
  const response = await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('shop', [body]), { 'x-scope-orgid': tenant });
  assert.equal(response.status, 200);
}

const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'x-nonexistent').replace(/\*$/, 'x');

before(async () => {
  meshlog = await startMeshlog();
  for (const role of roles) {
    const created = await createKey(meshlog.token, { name: `acme ${role}`, roles: [role], tenants: ['acme'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    acme[role] = created.body;
  }
  for (const role of ['admin', 'auditor', 'analyst'] as const)
    globex[role] = (await createKey(meshlog.token, { name: `globex ${role}`, roles: [role], tenants: ['globex'] })).body;
  await ingest('acme', 'acme order placed');
  await ingest('globex', 'globex order placed');
});

after(async () => {
  await meshlog?.stop();
});

test('every route the server answers declares a permission and a tenancy, and the matrix of roles x tenants x routes holds', async () => {
  const listed = await call('GET', '/api/v1/admin/routes', meshlog.token);
  assert.equal(listed.status, 200);
  const routes = listed.body.routes as Route[];
  assert.ok(routes.length > 100, `only ${routes.length} routes listed`);
  const failures: string[] = [];
  const expect = async (
    route: Route,
    token: string | undefined,
    who: string,
    options: { tenant?: string },
    ok: (status: number) => boolean,
  ) => {
    const answer = await call(route.method, concrete(route.url), token, options);
    if (!ok(answer.status))
      failures.push(`${route.method} ${route.url} ${who}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
  };
  const denied = (status: number) => status === 403;
  for (const route of routes) {
    assert.ok(
      ['public', 'ingest', 'query', 'audit', 'admin', 'unmask'].includes(route.permission),
      `${route.method} ${route.url}: permission ${route.permission}`,
    );
    assert.ok(['none', 'request', 'named', 'all'].includes(route.tenancy), `${route.method} ${route.url}: tenancy ${route.tenancy}`);
    if (route.permission === 'public') continue;
    // A route whose path carries the key (Datadog's /v1/input/:apiKey) always presents one: here an unknown key, 403 as Datadog answers it.
    const pathKey = route.url.includes(':apiKey');
    const checks = [
      expect(
        route,
        undefined,
        pathKey ? 'with an unknown key in its path' : 'without credentials',
        {},
        (status) => status === (pathKey ? 403 : 401),
      ),
    ];
    for (const role of roles) {
      const key = acme[role]!.key;
      if (!permissionsOf[role]!.includes(route.permission)) {
        checks.push(expect(route, key, `as acme ${role} (no ${route.permission})`, {}, denied));
        continue;
      }
      // Another tenant's data through the header is refused on every route.
      checks.push(expect(route, key, `as acme ${role} for tenant globex`, { tenant: 'globex' }, denied));
      if (route.tenancy === 'all') checks.push(expect(route, key, `(every tenant) as acme ${role}`, {}, denied));
      // Reads the role may make answer something other than an authorization error (writes are not replayed here: they would act).
      else if (route.method === 'GET')
        checks.push(expect(route, key, `as acme ${role} on its own tenant`, {}, (status) => status !== 401 && status !== 403));
    }
    await Promise.all(checks);
  }
  assert.deepEqual(failures, []);
});

test('an unknown key is refused on every kind of route (HEC and Datadog answer 403, as their own protocols do)', async () => {
  const unknownKey = 'mlk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  for (const [method, path] of [
    ['POST', '/v1/logs'],
    ['POST', '/services/collector/event'],
    ['POST', '/api/v2/logs'],
    ['GET', '/loki/api/v1/labels'],
    ['GET', '/api/v1/audit'],
    ['GET', '/api/v1/admin/keys'],
  ] as const) {
    const answer = await call(method, path, unknownKey);
    assert.ok(answer.status === 401 || (answer.status === 403 && /collector|v2\/logs/.test(path)), `${method} ${path}: ${answer.status}`);
  }
});

test('an admin confined to tenant acme cannot create a key for * or for tenant globex', async () => {
  for (const tenants of [['*'], ['globex'], ['acme', 'globex']]) {
    const answer = await createKey(acme.admin!.key, { name: 'escalation', roles: ['analyst'], tenants });
    assert.equal(answer.status, 403, `${tenants}: ${JSON.stringify(answer.body)}`);
  }
  const own = await createKey(acme.admin!.key, { name: 'acme reader', roles: ['analyst'], tenants: ['acme'] });
  assert.equal(own.status, 201);
  // The key it could make reads acme only.
  const read = await call('GET', `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="shop"}')}&since=1h`, own.body.key, {
    tenant: 'globex',
  });
  assert.equal(read.status, 403);
});

test('an admin cannot grant a role it does not hold: unmasker only from a holder of unmasker or the bootstrap token', async () => {
  const answer = await createKey(acme.admin!.key, { name: 'unmask me', roles: ['analyst', 'unmasker'], tenants: ['acme'] });
  assert.equal(answer.status, 403, JSON.stringify(answer.body));
  assert.match(answer.body.error, /cannot grant the roles unmasker/);
  assert.equal((await createKey(meshlog.token, { name: 'granted by the root', roles: ['unmasker'], tenants: ['acme'] })).status, 201);
});

test('an admin confined to tenant acme neither sees nor revokes keys of tenant globex', async () => {
  const listed = await call('GET', '/api/v1/admin/keys', acme.admin!.key);
  assert.equal(listed.status, 200);
  const tenants = new Set((listed.body.keys as { tenants: string[] }[]).flatMap((key) => key.tenants));
  assert.deepEqual([...tenants], ['acme']);
  const revoke = await call('DELETE', `/api/v1/admin/keys/${globex.analyst!.id}`, acme.admin!.key);
  assert.equal(revoke.status, 404);
  const stillWorks = await call('GET', `/loki/api/v1/labels?since=1h`, globex.analyst!.key);
  assert.equal(stillWorks.status, 200);
});

test('an admin confined to tenant acme cannot create, widen or issue keys for users beyond its grants, nor see globex users', async () => {
  assert.equal(
    (await call('POST', '/api/v1/admin/users', acme.admin!.key, { body: { name: 'mallory', roles: ['analyst'], tenants: ['*'] } })).status,
    403,
  );
  assert.equal(
    (await call('POST', '/api/v1/admin/users', acme.admin!.key, { body: { name: 'mallory', roles: ['analyst'], tenants: ['acme'] } }))
      .status,
    201,
  );
  assert.equal(
    (await call('PATCH', '/api/v1/admin/users/mallory', acme.admin!.key, { body: { tenants: ['acme', 'globex'] } })).status,
    403,
  );
  assert.equal(
    (await call('PATCH', '/api/v1/admin/users/mallory', acme.admin!.key, { body: { roles: ['analyst', 'unmasker'] } })).status,
    403,
  );
  assert.equal((await call('POST', '/api/v1/admin/users/mallory/keys', acme.admin!.key, { body: { tenants: ['globex'] } })).status, 403);
  // A globex user made by the root does not exist for acme's admin.
  assert.equal(
    (await call('POST', '/api/v1/admin/users', meshlog.token, { body: { name: 'gina', roles: ['analyst'], tenants: ['globex'] } })).status,
    201,
  );
  const users = await call('GET', '/api/v1/admin/users', acme.admin!.key);
  assert.deepEqual(
    (users.body.users as { name: string }[]).map((user) => user.name),
    ['mallory'],
  );
  assert.equal((await call('POST', '/api/v1/admin/users/gina/disable', acme.admin!.key)).status, 404);
  assert.equal((await call('POST', '/api/v1/admin/users/gina/keys', acme.admin!.key, { body: {} })).status, 404);
});

test('an auditor of tenant acme reads no audit event of tenant globex, nor its search terms', async () => {
  const secretTerm = 'globex-merger-codename';
  const search = await call(
    'GET',
    `/loki/api/v1/query_range?query=${encodeURIComponent(`{service_name="shop"} |= "${secretTerm}"`)}&since=1h`,
    globex.analyst!.key,
  );
  assert.equal(search.status, 200);
  const events = await call('GET', '/api/v1/audit?since=1h&limit=10000', acme.auditor!.key);
  assert.equal(events.status, 200);
  const list = events.body.events as { tenant: string; detail: string }[];
  assert.ok(list.length > 0, 'the acme auditor sees acme events');
  assert.deepEqual([...new Set(list.map((event) => event.tenant))], ['acme']);
  assert.ok(!JSON.stringify(list).includes(secretTerm));
  // The root auditor sees it: the event exists.
  const all = await call('GET', '/api/v1/audit?since=1h&limit=10000', meshlog.token);
  assert.ok(JSON.stringify(all.body.events).includes(secretTerm));
});

test('an auditor of tenant acme can neither verify nor read checkpoints or proofs of tenant globex', async () => {
  const verify = await call('GET', '/api/v1/integrity/verify?tenant=globex', acme.auditor!.key);
  assert.equal(verify.status, 403);
  const own = await call('GET', '/api/v1/integrity/verify', acme.auditor!.key);
  assert.equal(own.status, 200);
  const checkpoints = await call('GET', '/api/v1/integrity/checkpoints', acme.auditor!.key);
  assert.equal(checkpoints.status, 200);
  assert.ok((checkpoints.body.checkpoints as { chain: string }[]).every((checkpoint) => checkpoint.chain.startsWith('acme/')));
  // A chain is its tenant's whether or not it exists yet: the tenant is checked before any lookup.
  const globexChain = encodeURIComponent('globex/w-000000000000');
  assert.equal((await call('GET', `/api/v1/integrity/checkpoints?chain=${globexChain}`, acme.auditor!.key)).status, 403);
  assert.equal((await call('GET', `/api/v1/integrity/proofs/inclusion?chain=${globexChain}&batch_seq=1`, acme.auditor!.key)).status, 403);
  assert.equal((await call('GET', `/api/v1/integrity/proofs/consistency?chain=${globexChain}&from_size=1`, acme.auditor!.key)).status, 403);
});

test('a tenant admin cannot place a legal hold on, disable, or file an erasure for another tenant', async () => {
  const hold = await call('POST', '/api/v1/admin/legal-holds', acme.admin!.key, {
    body: { name: 'h', tenant: 'globex', reason: 'attack' },
  });
  assert.equal(hold.status, 403);
  assert.equal((await call('POST', '/api/v1/admin/tenants/globex/disable', acme.admin!.key)).status, 403);
  const erasure = await call('POST', '/api/v1/admin/erasure-requests', acme.admin!.key, {
    body: {
      tenant: 'globex',
      selector: '{service_name="shop"}',
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-02T00:00:00Z',
      reason: 'attack',
    },
  });
  assert.equal(erasure.status, 403);
});
