import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};
const minute = 60_000;
/** Whole minutes, so that bursts and steps line up the same on every run. */
const endMs = Math.floor(Date.now() / minute) * minute;
const startMs = endMs - 60 * minute;
/** Bursts of errors: acme's at 50 and 20 minutes ago, globex's (same service name) at 35. */
const acmeBursts = [endMs - 50 * minute + 10_000, endMs - 20 * minute + 10_000];
const globexBursts = [endMs - 35 * minute + 10_000];
const expr = 'sum by (service_name) (count_over_time({service_name="checkout"} |= "error" [1m])) > 2';

async function call(path: string, key: string, tenant: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${meshlog.url}${path}`, { headers: { authorization: `Bearer ${key}`, 'x-scope-orgid': tenant } });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

const backtest = (params: Record<string, string | number>, key: string, tenant: string) =>
  call(`/api/v1/alerts/backtest?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`, key, tenant);

const lastHour = { expr, start: startMs / 1000, end: endMs / 1000, step: '1m' };

async function logBurst(tenant: string, atMs: number): Promise<void> {
  const errors = Array.from({ length: 4 }, (_, i) => `error: payment declined ${i}`);
  const body = otlpJsonRequest('checkout', errors, { timeUnixNano: String(BigInt(atMs) * 1_000_000n) });
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, body, { 'x-scope-orgid': tenant })).status, 200);
}

before(async () => {
  meshlog = await startMeshlog();
  for (const [name, roles, tenants] of [
    ['acme analyst', ['analyst'], ['acme']],
    ['acme ingester', ['ingester'], ['acme']],
    ['acme auditor', ['auditor'], ['acme']],
    ['globex analyst', ['analyst'], ['globex']],
  ] as const) {
    const response = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, roles, tenants }),
    });
    assert.equal(response.status, 201);
    keys[name] = ((await response.json()) as { key: string }).key;
  }
  for (const atMs of acmeBursts) await logBurst('acme', atMs);
  for (const atMs of globexBursts) await logBurst('globex', atMs);
  // Ingested rows become visible to queries shortly after the write is acknowledged.
  await waitFor(async () => (await backtest(lastHour, keys['acme analyst'], 'acme')).body.series?.[0]?.firings.length === 2, {
    what: "acme's bursts in the backtest",
    timeoutMs: 120_000,
  });
});

after(async () => {
  await meshlog?.stop();
});

test('a backtest returns when the rule would have fired and resolved over the past range, honouring for', async () => {
  const { status, body } = await backtest(lastHour, keys['acme analyst'], 'acme');
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.step_seconds, 60);
  assert.deepEqual(
    body.series.map((s: any) => s.labels),
    [{ service_name: 'checkout' }],
  );
  // Each burst holds at the one step within a minute after it, then resolves at the next.
  assert.deepEqual(
    body.series[0].firings.map((f: any) => [f.fired_at, f.resolved_at, f.value]),
    acmeBursts.map((atMs) => [new Date(atMs + 50_000).toISOString(), new Date(atMs + 110_000).toISOString(), 4]),
  );
  const held = await backtest({ ...lastHour, for: '2m' }, keys['acme analyst'], 'acme');
  assert.equal(held.status, 200);
  assert.deepEqual(held.body.series, [], 'a one-minute burst never holds for two minutes');
});

test("a tenant's analyst backtests on its own tenant's data only, and cannot name another tenant", async () => {
  const acme = (await backtest(lastHour, keys['acme analyst'], 'acme')).body.series[0].firings.map((f: any) => f.fired_at);
  const globex = (await backtest(lastHour, keys['globex analyst'], 'globex')).body.series[0].firings.map((f: any) => f.fired_at);
  assert.deepEqual(
    acme,
    acmeBursts.map((atMs) => new Date(atMs + 50_000).toISOString()),
    "globex's burst 35 minutes ago is not in acme's backtest",
  );
  assert.deepEqual(
    globex,
    globexBursts.map((atMs) => new Date(atMs + 50_000).toISOString()),
  );
  assert.equal((await backtest(lastHour, keys['acme analyst'], 'globex')).status, 403);
  const several = await backtest(lastHour, keys['acme analyst'], 'acme|globex');
  assert.equal(several.status, 400, 'a backtest acts on one tenant, never a union');
  assert.match(JSON.stringify(several.body), /one tenant/);
});

test('a role without the query permission is refused a backtest', async () => {
  assert.equal((await backtest(lastHour, keys['acme ingester'], 'acme')).status, 403);
  assert.equal((await backtest(lastHour, keys['acme auditor'], 'acme')).status, 403);
  assert.equal((await call('/api/v1/alerts/backtest?expr=1', 'not-a-key', 'acme')).status, 401);
});

test('extreme ranges and bad input are refused with 400 naming the limit, and the server keeps answering', async () => {
  const refusals: [Record<string, string | number>, RegExp][] = [
    [{ ...lastHour, start: endMs / 1000 - 8 * 86_400 }, /at most 7 days/],
    [{ ...lastHour, start: 0 }, /at most 7 days/],
    [{ ...lastHour, start: endMs / 1000 - 86_400, step: '1s' }, /at most 11000 evaluations, this one would make 86401/],
    [{ ...lastHour, step: '0s' }, /at least 1s/],
    [{ ...lastHour, start: endMs / 1000 + 60 }, /must not be before/],
    [{ ...lastHour, expr: '{service_name="checkout"}' }, /metric query/],
    [{ ...lastHour, expr: 'count_over_time({service_name="checkout"' }, /./],
    [{ ...lastHour, expr: '1 > 0' }, /vector/],
    [{ start: startMs / 1000 }, /expr is required/],
    [{ ...lastHour, for: 'soon' }, /for/],
  ];
  for (const [params, reason] of refusals) {
    const { status, body } = await backtest(params, keys['acme analyst'], 'acme');
    assert.equal(status, 400, `${JSON.stringify(params)}: ${JSON.stringify(body)}`);
    assert.match(JSON.stringify(body), reason);
  }
  assert.equal((await backtest(lastHour, keys['acme analyst'], 'acme')).status, 200);
});
