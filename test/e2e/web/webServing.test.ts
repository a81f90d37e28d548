import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { parse as parseCsv } from 'csv-parse/sync';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';

let meshlog: RunningMeshlog;
const admin = () => ({ Authorization: `Bearer ${meshlog.token}` });
const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const traceId = '0af7651916cd43dd8448eb211c80319c';

before(async () => {
  // user.email is a sensitive field: exports and traces mask it like Loki answers do.
  const configFile = join(tempDataDir('meshlog-web-config-'), 'meshlog.yaml');
  writeFileSync(configFile, ['masking:', '  fields: [user.email]', 'ui:', '  session_idle_timeout_ms: 600000', ''].join('\n'));
  meshlog = await startMeshlog({ args: ['--config', configFile] });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

async function createKey(roles: string[], tenants: string[]): Promise<string> {
  const response = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { ...admin(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `${roles.join('+')} key`, roles, tenants }),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { key: string }).key;
}

async function logIn(token: string): Promise<{ cookie: string; csrfToken: string; status: number; body: string }> {
  const response = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  const body = await response.text();
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
  return { cookie, csrfToken: response.ok ? (JSON.parse(body) as { csrfToken: string }).csrfToken : '', status: response.status, body };
}

async function auditEvents(action: string): Promise<{ action: string; outcome: string; actor_name: string; detail: string }[]> {
  const response = await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=${action}`, { headers: admin() });
  return ((await response.json()) as { events: { action: string; outcome: string; actor_name: string; detail: string }[] }).events;
}

test('GET / is the UI for browsers and still the Elasticsearch handshake for shippers', async () => {
  const client = new Client({ node: meshlog.url, auth: { bearer: meshlog.token } });
  const info = await client.info();
  assert.equal(info.version.number, '8.19.0');
  const anonymous = await fetch(`${meshlog.url}/`);
  assert.equal(anonymous.status, 401, 'the handshake stays authenticated');

  const page = await fetch(`${meshlog.url}/`, { headers: { Accept: browserAccept } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'; script-src 'self'/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  const html = await page.text();
  const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, html);

  const spaRoute = await fetch(`${meshlog.url}/ui/trace/${traceId}`);
  assert.equal(spaRoute.status, 200);
  assert.equal(await spaRoute.text(), html, 'every page path answers index.html');
  const asset = await fetch(`${meshlog.url}${script}`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
  const built = readdirSync(fileURLToPath(new URL('../../../web/assets/', import.meta.url)));
  assert.ok(built.includes(script.split('/').pop()!));
  assert.equal((await fetch(`${meshlog.url}/ui/assets/..%2f..%2fsrc%2fcli%2fmain.js`)).status, 404);
  assert.equal((await fetch(`${meshlog.url}/ui/assets/missing.js`)).status, 404);
});

test('a login becomes a session cookie that authenticates as the same identity; keys without a UI role are refused', async () => {
  const analyst = await createKey(['analyst'], ['acme']);
  const session = await logIn(analyst);
  assert.equal(session.status, 200, session.body);
  assert.deepEqual(JSON.parse(session.body).permissions, ['query']);
  assert.equal(JSON.parse(session.body).idleTimeoutMs, 600_000, 'ui.session_idle_timeout_ms from the config');
  const labels = await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { Cookie: session.cookie } });
  assert.equal(labels.status, 200);
  const otherTenant = await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { Cookie: session.cookie, 'X-Scope-OrgID': 'globex' } });
  assert.equal(otherTenant.status, 403, 'the session holds the key’s tenants, no more');
  const adminRead = await fetch(`${meshlog.url}/api/v1/admin/keys`, { headers: { Cookie: session.cookie } });
  assert.equal(adminRead.status, 403, 'nor its roles');

  const ingester = await createKey(['ingester'], ['acme']);
  const refused = await logIn(ingester);
  assert.equal(refused.status, 403);
  assert.match(refused.body, /no role that can use the UI/);
  assert.equal((await logIn('wrong-token')).status, 401);
  const crossSite = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: 'https://evil.example' },
    body: JSON.stringify({ token: analyst }),
  });
  assert.equal(crossSite.status, 403, 'another site cannot log a browser in');
  const plainForm = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({ token: analyst }),
  });
  assert.equal(plainForm.status, 415, 'nor post it as a form');
  assert.equal(crossSite.headers.get('set-cookie'), null);

  const logout = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'DELETE',
    headers: { Cookie: session.cookie, 'x-csrf-token': session.csrfToken },
  });
  assert.equal(logout.status, 200);
  assert.match(logout.headers.get('set-cookie') ?? '', /Max-Age=0/);
  assert.equal((await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { Cookie: session.cookie } })).status, 401);

  const events = await auditEvents('auth.session');
  const summary = events.map((event) => `${event.action} ${event.outcome} ${event.actor_name}`);
  assert.ok(summary.includes('auth.session.login success analyst key'), summary.join('\n'));
  assert.ok(summary.includes('auth.session.logout success analyst key'), summary.join('\n'));
  assert.ok(summary.includes('auth.session.login denied ingester key'), summary.join('\n'));
  assert.ok(
    summary.some((line) => line.startsWith('auth.session.login denied ') && !line.includes('key')),
    'the unknown token is audited',
  );
});

test('the trace API returns the spans and logs of one trace in the caller’s tenant only', async () => {
  const spanId = 'b7ad6b7169203331';
  const start = Date.now() - 60_000;
  const spans = await fetch(`${meshlog.url}/v1/traces`, {
    method: 'POST',
    headers: { ...admin(), 'Content-Type': 'application/json', 'X-Scope-OrgID': 'acme' },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId,
                  spanId,
                  name: 'GET /cart',
                  kind: 2,
                  startTimeUnixNano: `${start}000000`,
                  endTimeUnixNano: `${start + 120}000000`,
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  assert.equal(spans.status, 200, await spans.text());
  const logs = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { ...admin(), 'Content-Type': 'application/json', 'X-Scope-OrgID': 'acme' },
    body: JSON.stringify({
      streams: [
        {
          stream: { service_name: 'cart' },
          values: [
            [
              `${start + 10}000000`,
              'cart loaded for ana@example.com',
              { trace_id: traceId, span_id: spanId, 'user.email': 'ana@example.com' },
            ],
          ],
        },
      ],
    }),
  });
  assert.equal(logs.status, 204);

  const acme = await createKey(['analyst'], ['acme']);
  const found = await fetch(`${meshlog.url}/api/v1/traces/${traceId.toUpperCase()}`, { headers: { Authorization: `Bearer ${acme}` } });
  const body = (await found.json()) as {
    spans: { span_name: string; span_id: string; duration_ns: string }[];
    logs: { body: string; span_id: string; log_attributes: Record<string, string> }[];
  };
  assert.deepEqual(
    body.spans.map((span) => [span.span_name, span.span_id, span.duration_ns]),
    [['GET /cart', spanId, '120000000']],
  );
  assert.deepEqual(
    body.logs.map((log) => [log.body, log.span_id, log.log_attributes['user.email']]),
    [['cart loaded for [MASKED]', spanId, '[MASKED]']],
  );

  const globex = await createKey(['analyst'], ['globex']);
  const elsewhere = (await (
    await fetch(`${meshlog.url}/api/v1/traces/${traceId}`, { headers: { Authorization: `Bearer ${globex}` } })
  ).json()) as { spans: unknown[]; logs: unknown[] };
  assert.deepEqual([elsewhere.spans.length, elsewhere.logs.length], [0, 0]);
  const bad = await fetch(`${meshlog.url}/api/v1/traces/not-a-trace`, { headers: { Authorization: `Bearer ${acme}` } });
  assert.equal(bad.status, 400);
  const ingester = await createKey(['ingester'], ['acme']);
  assert.equal((await fetch(`${meshlog.url}/api/v1/traces/${traceId}`, { headers: { Authorization: `Bearer ${ingester}` } })).status, 403);
});

test('export answers NDJSON or CSV of a log query and is audited with its line count', async () => {
  const base = Date.now() - 30_000;
  const push = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { ...admin(), 'Content-Type': 'application/json' },
    body: JSON.stringify({
      streams: [
        {
          stream: { service_name: 'billing', env: 'prod' },
          values: [
            [`${base}000000`, 'invoice 1 sent, "quoted"'],
            [`${base + 1}000000`, 'invoice 2 sent user.email=bo_7781'],
          ],
        },
      ],
    }),
  });
  assert.equal(push.status, 204);
  const query = encodeURIComponent('{service_name="billing"}');
  const ndjson = await fetch(`${meshlog.url}/api/v1/export?query=${query}&format=ndjson`, { headers: admin() });
  assert.equal(ndjson.status, 200);
  assert.match(ndjson.headers.get('content-disposition') ?? '', /attachment; filename="meshlog-export-.*\.ndjson"/);
  const lines = (await ndjson.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { line: string; timestamp_ns: string; labels: Record<string, string> });
  assert.deepEqual(
    lines.map((line) => line.line),
    ['invoice 2 sent user.email=[MASKED]', 'invoice 1 sent, "quoted"'],
    'sensitive fields are masked for an admin without unmask',
  );
  assert.equal(lines[1].timestamp_ns, `${base}000000`);
  assert.equal(lines[0].labels.env, 'prod');

  const csv = await fetch(`${meshlog.url}/api/v1/export?query=${query}&format=csv`, { headers: admin() });
  const rows = parseCsv(await csv.text(), { columns: true }) as Record<string, string>[];
  assert.deepEqual(
    rows.map((row) => [row.line, row.service_name, row.env]),
    [
      ['invoice 2 sent user.email=[MASKED]', 'billing', 'prod'],
      ['invoice 1 sent, "quoted"', 'billing', 'prod'],
    ],
  );
  assert.match(rows[1].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);

  assert.equal((await fetch(`${meshlog.url}/api/v1/export?query=${query}&format=xml`, { headers: admin() })).status, 400);
  assert.equal(
    (
      await fetch(`${meshlog.url}/api/v1/export?query=${encodeURIComponent('count_over_time({service_name="billing"}[1m])')}`, {
        headers: admin(),
      })
    ).status,
    400,
  );
  const exports = await auditEvents('query.export');
  assert.deepEqual(exports.map((event) => [JSON.parse(event.detail).format, JSON.parse(event.detail).lines]).sort(), [
    ['csv', 2],
    ['ndjson', 2],
  ]);
});
