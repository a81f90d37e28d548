import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { lokiCall, type LokiAnswer } from '../../support/lokiCall.js';
import { waitFor } from '../../support/waitFor.js';
import { createKeyWithCli } from '../../support/cliKeys.js';

let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};
const nowNs = () => BigInt(Date.now()) * 1_000_000n;
let startNs: bigint;

async function push(tenant: string, lines: string[]): Promise<void> {
  const ts = nowNs();
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant, 'content-type': 'application/json' },
    body: JSON.stringify({
      streams: [
        { stream: { service_name: 'web', team: `team-${tenant}` }, values: lines.map((line, i) => [String(ts + BigInt(i)), line]) },
      ],
    }),
  });
  assert.equal(response.status, 204, await response.text());
}

before(async () => {
  meshlog = await startMeshlog();
  startNs = nowNs() - 60_000_000_000n;
  keys.acmeOnly = await createKeyWithCli(meshlog, 'analyst acme', ['analyst'], ['acme']);
  keys.acmeAndBeta = await createKeyWithCli(meshlog, 'analyst acme+beta', ['analyst'], ['acme', 'beta']);
  await push('acme', ['acme line one', 'acme line two']);
  await push('beta', ['beta secret 7f3a', 'beta secret 9c2e', 'beta secret 1d4b']);
  await waitFor(
    async () => {
      const counts = await Promise.all(
        ['acme', 'beta'].map((tenant) =>
          lokiCall(meshlog, tenant, '/loki/api/v1/query_range', {
            query: '{service_name="web"}',
            start: String(startNs),
            end: String(nowNs()),
          }),
        ),
      );
      return counts.every((answer) => answer.body?.data?.result?.length > 0);
    },
    { what: "both tenants' lines to be queryable" },
  );
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

const call = (key: string, tenant: string, path: string, params: Record<string, string | string[]>): Promise<LokiAnswer> =>
  lokiCall({ url: meshlog.url, token: key }, tenant, path, params);
const range = () => ({ start: String(startNs), end: String(nowNs() + 1_000_000_000n) });

/** A Loki tail WebSocket: resolves with its first frame, or rejects with the upgrade's HTTP status. */
function tailFirstFrame(
  key: string,
  tenant: string,
  query: string,
): Promise<{ streams: { stream: Record<string, string>; values: [string, string][] }[] }> {
  const url = `${meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}&start=${startNs}&limit=100`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${key}`, 'x-scope-orgid': tenant } });
  return new Promise((resolve, reject) => {
    socket.once('message', (data) => {
      resolve(JSON.parse(data.toString()));
      socket.close();
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        reject(Object.assign(new Error(`tail refused: ${response.statusCode}`), { status: response.statusCode, body })),
      );
    });
    socket.once('error', reject);
  });
}

test('a credential holding both tenants reads a|b as Loki does: every stream and series labelled __tenant_id__, groupable and selectable by it', async () => {
  const logs = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/query_range', {
    query: '{service_name="web"}',
    ...range(),
    limit: '100',
  });
  assert.equal(logs.status, 200, logs.text);
  const byTenant = Object.fromEntries(
    (logs.body.data.result as { stream: Record<string, string>; values: unknown[] }[]).map((stream) => [
      stream.stream.__tenant_id__,
      stream.values.length,
    ]),
  );
  assert.deepEqual(byTenant, { acme: 2, beta: 3 });

  const counts = await call(keys.acmeAndBeta, 'beta|acme', '/loki/api/v1/query', {
    query: 'sum by (__tenant_id__) (count_over_time({service_name="web"}[10m]))',
    time: String(nowNs()),
  });
  assert.equal(counts.status, 200, counts.text);
  assert.deepEqual(
    Object.fromEntries(
      (counts.body.data.result as { metric: Record<string, string>; value: [number, string] }[]).map((sample) => [
        sample.metric.__tenant_id__,
        sample.value[1],
      ]),
    ),
    { acme: '2', beta: '3' },
  );
  // Without by: each series keeps its tenant label (SQL buckets path).
  const perSeries = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/query', {
    query: 'count_over_time({service_name="web"}[10m])',
    time: String(nowNs()),
  });
  assert.deepEqual(
    (perSeries.body.data.result as { metric: Record<string, string> }[]).map((sample) => sample.metric.__tenant_id__).sort(),
    ['acme', 'beta'],
  );

  const onlyBeta = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/query_range', {
    query: '{service_name="web", __tenant_id__="beta"}',
    ...range(),
  });
  assert.deepEqual(
    (onlyBeta.body.data.result as { stream: Record<string, string> }[]).map((stream) => stream.stream.__tenant_id__),
    ['beta'],
  );

  const labels = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/labels', range());
  assert.ok((labels.body.data as string[]).includes('__tenant_id__'), labels.text);
  const tenants = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/label/__tenant_id__/values', range());
  assert.deepEqual(tenants.body.data, ['acme', 'beta']);
  const teams = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/label/team/values', range());
  assert.deepEqual(teams.body.data, ['team-acme', 'team-beta']);
  const series = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/series', { 'match[]': '{service_name="web"}', ...range() });
  assert.deepEqual((series.body.data as Record<string, string>[]).map((labels) => `${labels.__tenant_id__}/${labels.team}`).sort(), [
    'acme/team-acme',
    'beta/team-beta',
  ]);

  const frame = await tailFirstFrame(keys.acmeAndBeta, 'acme|beta', '{service_name="web"}');
  assert.deepEqual(frame.streams.map((stream) => stream.stream.__tenant_id__).sort(), ['acme', 'beta']);
});

test('one tenant named twice (acme|acme) is a single-tenant read, without __tenant_id__, as dskit dedups tenant ids', async () => {
  const logs = await call(keys.acmeOnly, 'acme|acme', '/loki/api/v1/query_range', { query: '{service_name="web"}', ...range() });
  assert.equal(logs.status, 200, logs.text);
  assert.deepEqual(
    (logs.body.data.result as { stream: Record<string, string> }[]).map((stream) => stream.stream.__tenant_id__),
    [undefined],
  );
});

test('a credential holding only acme that asks for acme|beta is refused on every multi-tenant read, and nothing of beta shows in the refusal', async () => {
  const reads: [string, Record<string, string | string[]>][] = [
    ['/loki/api/v1/query_range', { query: '{service_name="web"}', ...range() }],
    ['/loki/api/v1/query', { query: 'sum by (__tenant_id__) (count_over_time({service_name="web"}[10m]))' }],
    ['/loki/api/v1/labels', range()],
    ['/loki/api/v1/label/team/values', range()],
    ['/loki/api/v1/label/__tenant_id__/values', range()],
    ['/loki/api/v1/series', { 'match[]': '{service_name="web"}', ...range() }],
  ];
  for (const tenant of ['acme|beta', 'beta|acme', 'acme|beta|acme']) {
    for (const [path, params] of reads) {
      const answer = await call(keys.acmeOnly, tenant, path, params);
      assert.equal(answer.status, 403, `${tenant} ${path}: ${answer.text}`);
      assert.doesNotMatch(answer.text, /secret|team-beta|7f3a|9c2e|1d4b/, `${tenant} ${path}`);
    }
  }
  const refused = await tailFirstFrame(keys.acmeOnly, 'acme|beta', '{service_name="web"}').then(
    () => assert.fail('the tail opened'),
    (error: { status?: number; body?: string }) => error,
  );
  assert.equal(refused.status, 403);
  assert.doesNotMatch(refused.body ?? '', /secret|team-beta/);
});

test('several tenants are refused (400) where a route acts on one: ingest, index stats, detected fields', async () => {
  const pushed = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme|beta', 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { service_name: 'web' }, values: [[String(nowNs()), 'written to two tenants?']] }] }),
  });
  assert.equal(pushed.status, 400, await pushed.text());
  for (const path of ['/loki/api/v1/index/stats', '/loki/api/v1/detected_fields']) {
    const answer = await call(keys.acmeAndBeta, 'acme|beta', path, { query: '{service_name="web"}', ...range() });
    assert.equal(answer.status, 400, `${path}: ${answer.text}`);
  }
});

test("the route table names the multi-tenant reads, declared at their registration: Loki's queries, labels, series and tail, nothing else", async () => {
  const answer = await fetch(`${meshlog.url}/api/v1/admin/routes`, { headers: { authorization: `Bearer ${meshlog.token}` } });
  assert.equal(answer.status, 200);
  const routes = (await answer.json()).routes as { method: string; url: string; tenancy: string; multiTenant: boolean }[];
  assert.ok(
    routes.every((route) => typeof route.multiTenant === 'boolean'),
    'every route says whether it takes several tenants',
  );
  const several = routes.filter((route) => route.multiTenant);
  assert.ok(several.every((route) => route.tenancy === 'request'));
  const reads = ['query_range', 'query', 'labels', 'label', 'label/:name/values', 'series'].flatMap((path) =>
    ['GET', 'POST'].map((method) => `${method} /loki/api/v1/${path}`),
  );
  assert.deepEqual(several.map((route) => `${route.method} ${route.url}`).sort(), [...reads, 'GET /loki/api/v1/tail'].sort());
});

test('malformed multi-tenant headers are refused: an empty or bad id between the bars is invalid (400), a reserved one forbidden (403)', async () => {
  const expected: Record<string, number> = { 'acme|': 400, '|beta': 400, 'acme||beta': 400, 'acme|be ta': 400, 'acme|_internal': 403 };
  for (const [tenant, status] of Object.entries(expected)) {
    const answer = await call(keys.acmeAndBeta, tenant, '/loki/api/v1/query_range', { query: '{service_name="web"}', ...range() });
    assert.equal(answer.status, status, `${tenant}: ${answer.text}`);
    assert.doesNotMatch(answer.text, /secret|team-beta/);
  }
});

test("a multi-tenant read is audited once for each tenant it read, so each tenant's auditor sees it, naming every tenant read together", async () => {
  const auditorAcme = await createKeyWithCli(meshlog, 'auditor acme', ['auditor'], ['acme']);
  const marker = `audit-marker-${Date.now()}`;
  const answer = await call(keys.acmeAndBeta, 'acme|beta', '/loki/api/v1/query_range', {
    query: `{service_name="web"} |= "${marker}"`,
    ...range(),
  });
  assert.equal(answer.status, 200, answer.text);
  interface AuditEvent {
    tenant: string;
    actor_name: string;
    detail: string;
  }
  const readsOf = async (key: string): Promise<AuditEvent[]> => {
    const response = await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=query&limit=10000`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(response.status, 200);
    const { events } = (await response.json()) as { events: AuditEvent[] };
    return events.filter((event) => event.detail.includes(marker));
  };
  const everyRead = await waitFor(
    async () => {
      const events = await readsOf(meshlog.token);
      return events.length >= 2 ? events : undefined;
    },
    { what: 'the multi-tenant read in the audit trail' },
  );
  assert.deepEqual(everyRead.map((event) => event.tenant).sort(), ['acme', 'beta']);
  for (const event of everyRead) {
    assert.equal(event.actor_name, 'analyst acme+beta');
    assert.deepEqual(JSON.parse(event.detail).tenants, ['acme', 'beta']);
  }
  // acme's auditor sees the read of acme's data, and not the event that belongs to beta.
  const acmeReads = await readsOf(auditorAcme);
  assert.deepEqual(
    acmeReads.map((event) => event.tenant),
    ['acme'],
  );
});
