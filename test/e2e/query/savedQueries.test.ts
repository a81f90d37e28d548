import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';

let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};

async function call(
  token: string,
  method: string,
  path: string,
  options: { body?: unknown; tenant?: string } = {},
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.tenant ? { 'x-scope-orgid': options.tenant } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function createKey(name: string, roles: string[], tenants: string[]): Promise<string> {
  const created = await call(meshlog.token, 'POST', '/api/v1/admin/keys', { body: { name, roles, tenants } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json.key as string;
}

const names = (answer: { json: { savedQueries: { name: string }[] } }) => answer.json.savedQueries.map((saved) => saved.name).sort();

before(async () => {
  meshlog = await startMeshlog();
  keys.alice = await createKey('alice', ['analyst'], ['acme', 'beta']);
  keys.bob = await createKey('bob', ['analyst'], ['acme']);
  keys.auditor = await createKey('carol', ['auditor'], ['acme']);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('saved queries are per user and tenant; shared ones are seen by the tenant but deleted only by their owner; saves and deletes are audited', async () => {
  const mine = await call(keys.alice, 'POST', '/api/v1/saved-queries', {
    tenant: 'acme',
    body: { name: 'checkout errors', query: '{service_name="checkout"} |= "error"', from: 'now-6h', to: 'now' },
  });
  assert.equal(mine.status, 201, JSON.stringify(mine.json));
  assert.deepEqual(
    {
      name: mine.json.savedQuery.name,
      query: mine.json.savedQuery.query,
      from: mine.json.savedQuery.range_from,
      to: mine.json.savedQuery.range_to,
      shared: mine.json.savedQuery.shared,
      owner: mine.json.savedQuery.owner_name,
    },
    { name: 'checkout errors', query: '{service_name="checkout"} |= "error"', from: 'now-6h', to: 'now', shared: false, owner: 'alice' },
  );
  const shared = await call(keys.alice, 'POST', '/api/v1/saved-queries', {
    tenant: 'acme',
    body: { name: 'payments (team)', query: '{service_name="payments"}', from: '1764000000000', to: '1764003600000', shared: true },
  });
  assert.equal(shared.status, 201);
  assert.equal(
    (
      await call(keys.alice, 'POST', '/api/v1/saved-queries', {
        tenant: 'beta',
        body: { name: 'beta only', query: '{app="x"}', shared: true },
      })
    ).status,
    201,
  );
  assert.equal(
    (await call(keys.bob, 'POST', '/api/v1/saved-queries', { tenant: 'acme', body: { name: 'bob private', query: '{app="bob"}' } })).status,
    201,
  );

  assert.deepEqual(names(await call(keys.alice, 'GET', '/api/v1/saved-queries', { tenant: 'acme' })), [
    'checkout errors',
    'payments (team)',
  ]);
  assert.deepEqual(
    names(await call(keys.alice, 'GET', '/api/v1/saved-queries', { tenant: 'beta' })),
    ['beta only'],
    'another tenant, other queries',
  );
  assert.deepEqual(
    names(await call(keys.bob, 'GET', '/api/v1/saved-queries', { tenant: 'acme' })),
    ['bob private', 'payments (team)'],
    "bob sees alice's shared query, not her private one",
  );
  assert.equal(
    (await call(keys.bob, 'GET', '/api/v1/saved-queries', { tenant: 'beta' })).status,
    403,
    "bob may not act on alice's other tenant",
  );

  // Only the owner deletes; another user's private query does not exist for them.
  const bobDeletesShared = await call(keys.bob, 'DELETE', `/api/v1/saved-queries/${shared.json.savedQuery.id}`, { tenant: 'acme' });
  assert.equal(bobDeletesShared.status, 403);
  assert.match(bobDeletesShared.json.error, /belongs to alice/);
  assert.equal((await call(keys.bob, 'DELETE', `/api/v1/saved-queries/${mine.json.savedQuery.id}`, { tenant: 'acme' })).status, 404);
  assert.equal(
    (await call(keys.alice, 'DELETE', `/api/v1/saved-queries/${mine.json.savedQuery.id}`, { tenant: 'beta' })).status,
    404,
    'a query lives in its tenant',
  );
  const deleted = await call(keys.alice, 'DELETE', `/api/v1/saved-queries/${mine.json.savedQuery.id}`, { tenant: 'acme' });
  assert.equal(deleted.status, 200);
  assert.deepEqual(names(await call(keys.alice, 'GET', '/api/v1/saved-queries', { tenant: 'acme' })), ['payments (team)']);

  // What cannot be saved: an auditor (no query permission), a query that does not parse, a range that is not one.
  assert.equal((await call(keys.auditor, 'GET', '/api/v1/saved-queries', { tenant: 'acme' })).status, 403);
  assert.equal(
    (await call(keys.auditor, 'POST', '/api/v1/saved-queries', { tenant: 'acme', body: { name: 'x', query: '{a="b"}' } })).status,
    403,
  );
  const unparsable = await call(keys.alice, 'POST', '/api/v1/saved-queries', {
    tenant: 'acme',
    body: { name: 'broken', query: '{service_name="x"' },
  });
  assert.equal(unparsable.status, 400);
  assert.match(unparsable.json.error, /parse error/);
  assert.equal(
    (
      await call(keys.alice, 'POST', '/api/v1/saved-queries', {
        tenant: 'acme',
        body: { name: 'bad range', query: '{a="b"}', from: 'yesterday' },
      })
    ).status,
    400,
  );

  const audit = await call(meshlog.token, 'GET', '/api/v1/audit?since=1h&limit=10000');
  const events = (audit.json.events as { action: string; outcome: string; actor_name?: string; target?: string }[]).filter((event) =>
    event.action.startsWith('saved_queries.'),
  );
  const summary = events.map((event) => `${event.action}:${event.outcome}:${event.actor_name}`).sort();
  assert.deepEqual(summary, [
    'saved_queries.create:success:alice',
    'saved_queries.create:success:alice',
    'saved_queries.create:success:alice',
    'saved_queries.create:success:bob',
    'saved_queries.delete:denied:bob',
    'saved_queries.delete:success:alice',
  ]);
  assert.equal(
    events.find((event) => event.action === 'saved_queries.delete' && event.outcome === 'success')?.target,
    mine.json.savedQuery.id,
  );
});

test('saved queries survive a restart', async () => {
  await meshlog.stop();
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir });
  assert.deepEqual(names(await call(keys.bob, 'GET', '/api/v1/saved-queries', { tenant: 'acme' })), ['bob private', 'payments (team)']);
});
