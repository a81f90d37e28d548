import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { writeCheckoutAlertingConfig } from '../../support/checkoutAlerting.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * The incident workspace through a real server: an alert rule marked
 * open_incident, lines pinned as Explore names them and held past their
 * retention, the signed bundle checked offline by `meshlog report verify`,
 * and the refusals of other tenants and lesser roles.
 */
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const dayNs = 86_400_000_000_000n;
let meshlog: RunningMeshlog;
let dir: string;
const keys: Record<string, string> = {};

async function call(
  method: string,
  path: string,
  options: { token?: string; tenant?: string; body?: unknown } = {},
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? meshlog.token}` };
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
    // The review is markdown.
  }
  return { status: response.status, body, text };
}

async function ok(method: string, path: string, options: { token?: string; tenant?: string; body?: unknown } = {}): Promise<any> {
  const answer = await call(method, path, options);
  assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${answer.text}`);
  return answer.body;
}

/** Lines of a query over a range, as Explore reads them: [time in ns, line]. */
async function lines(tenant: string, query: string, startNs: bigint, endNs: bigint): Promise<[string, string][]> {
  const params = new URLSearchParams({ query, start: startNs.toString(), end: endNs.toString(), limit: '100' });
  const body = await ok('GET', `/loki/api/v1/query_range?${params}`, { tenant });
  return (body.data.result as { values: [string, string][] }[]).flatMap((stream) => stream.values);
}

function cliRun(args: string[]): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { status: run.status, out: run.stdout + run.stderr };
}

before(async () => {
  dir = tempDataDir('meshlog-incidents-');
  const config = writeCheckoutAlertingConfig(dir, {
    rules: `      - alert: CheckoutErrors
        expr: sum by (service_name) (count_over_time({service_name="checkout"} |= "error" [30s])) > 2
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.service_name }} logged {{ $value }} errors"
        open_incident: true
      - alert: CheckoutWarnings
        expr: sum by (service_name) (count_over_time({service_name="checkout"} |= "error" [30s])) > 1
`,
    sections: `retention:
  default_max_age: 30d
incidents:
  hold_after_resolve: 0s
`,
  });
  meshlog = await startMeshlog({ args: ['--config', config] });
  for (const [name, roles, tenants] of [
    ['acme-analyst', ['analyst'], ['acme']],
    ['acme-auditor', ['auditor'], ['acme']],
    ['acme-ingester', ['ingester'], ['acme']],
    ['globex-admin', ['admin'], ['globex']],
    ['globex-analyst', ['analyst'], ['globex']],
  ] as const) {
    keys[name] = (await ok('POST', '/api/v1/admin/keys', { body: { name, roles, tenants } })).key;
  }
});

after(async () => {
  if (meshlog?.process.exitCode === null) await meshlog.stop();
});

test('an alert of a rule marked open_incident fires and an incident opens with the alert linked; an unmarked rule opens none', async () => {
  const errors = Array.from({ length: 4 }, (_, i) => `error: card declined (attempt ${i})`);
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', errors), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  const opened = await waitFor(
    async () =>
      ((await ok('GET', '/api/v1/incidents', { token: keys['acme-analyst'] })).incidents as any[]).find(
        (incident) => incident.source === 'alert',
      ),
    { what: 'an incident opened by the alert' },
  );
  assert.equal(opened.tenant, 'acme');
  assert.equal(opened.severity, 'critical');
  assert.equal(opened.state, 'open');
  assert.equal(opened.title, 'CheckoutErrors: checkout logged 4 errors');
  assert.deepEqual(
    opened.alerts.map((alert: any) => [alert.alertname, alert.state, alert.labels.service_name]),
    [['CheckoutErrors', 'firing', 'checkout']],
  );
  assert.equal(opened.acknowledged_at, null, 'nobody has acted on it yet');
  // The unmarked rule fired too (it has the lower threshold), and opened nothing.
  await waitFor(
    async () =>
      ((await ok('GET', '/prometheus/api/v1/alerts', { tenant: 'acme' })).data.alerts as any[]).some(
        (alert) => alert.labels.alertname === 'CheckoutWarnings' && alert.state === 'firing',
      ),
    { what: 'the unmarked rule to fire' },
  );
  const all = (await ok('GET', '/api/v1/incidents', { tenant: 'acme' })).incidents as any[];
  assert.equal(all.filter((incident) => incident.source === 'alert').length, 1);

  // A person acting on it acknowledges it; the timeline keeps the alert, the note and the change.
  await ok('POST', `/api/v1/incidents/${opened.id}/notes`, {
    token: keys['acme-analyst'],
    body: { text: 'card processor answers 502; paging payments' },
  });
  const mitigated = (
    await ok('POST', `/api/v1/incidents/${opened.id}/state`, { token: keys['acme-analyst'], body: { state: 'mitigated' } })
  ).incident;
  assert.equal(mitigated.acknowledged_by, 'acme-analyst');
  assert.ok(mitigated.seconds_to_acknowledge >= 0);
  const shown = (await ok('GET', `/api/v1/incidents/${opened.id}`, { token: keys['acme-analyst'] })).incident;
  assert.deepEqual(
    shown.timeline.map((entry: any) => entry.kind),
    ['opened', 'alert_firing', 'note', 'state'],
  );
  const review = await call('GET', `/api/v1/incidents/${opened.id}/review`, { token: keys['acme-analyst'] });
  assert.equal(review.status, 200);
  assert.match(review.text, /^# Post-incident review: CheckoutErrors/);
  assert.match(review.text, /acme-analyst · note: card processor answers 502/);
});

test('a rule group marked open_incident through the ruler API keeps the mark when read back', async () => {
  const group =
    'name: refunds\nrules:\n  - alert: RefundSpike\n    expr: sum(count_over_time({service_name="payments"} |= "refund" [5m])) > 100\n    open_incident: true\n';
  const posted = await fetch(`${meshlog.url}/loki/api/v1/rules/ops`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme', 'content-type': 'application/yaml' },
    body: group,
  });
  assert.equal(posted.status, 202, await posted.text());
  const read = await fetch(`${meshlog.url}/loki/api/v1/rules`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' },
  });
  assert.match(await read.text(), /alert: RefundSpike[\s\S]*open_incident: true/);
  const refused = await fetch(`${meshlog.url}/loki/api/v1/rules/ops`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme', 'content-type': 'application/yaml' },
    body: group.replace('open_incident: true', 'open_incident: sometimes'),
  });
  assert.equal(refused.status, 400);
});

test('lines pinned to an incident stay retrievable after their retention period ran out while it is open, and go once it is resolved', async () => {
  const oldNs = BigInt(Date.now()) * 1_000_000n - 40n * dayNs;
  const record = (body: string, offset: bigint) => ({
    body: { stringValue: body },
    severityNumber: 9,
    timeUnixNano: (oldNs + offset).toString(),
  });
  const request = JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'payments' } }] },
        scopeLogs: [{ logRecords: [record('refund 1 sent twice', 0n), record('refund 2 sent once', 1_000n)] }],
      },
    ],
  });
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, request, { 'x-scope-orgid': 'acme' })).status, 200);
  const incident = (
    await ok('POST', '/api/v1/incidents', { token: keys['acme-analyst'], body: { title: 'double refunds', severity: 'high' } })
  ).incident;
  const found = await lines('acme', '{service_name="payments"}', oldNs - 1_000_000n, oldNs + 1_000_000n);
  const [time, line] = found.find(([, text]) => text === 'refund 1 sent twice')!;
  // Pinned as Explore names a line: its time and text.
  const pinned = (
    await ok('POST', `/api/v1/incidents/${incident.id}/pins`, {
      token: keys['acme-analyst'],
      body: { kind: 'line', timestamp_ns: time, line, note: 'the duplicate' },
    })
  ).incident;
  assert.equal(pinned.pins[0].line, 'refund 1 sent twice');
  assert.match(pinned.pins[0].record, /^acme\/.+#\d+#0$/);

  const first = await ok('POST', '/api/v1/admin/retention/run');
  assert.equal(first.disposed.records, 1, JSON.stringify(first));
  assert.deepEqual(
    (await lines('acme', '{service_name="payments"}', oldNs - 1_000_000n, oldNs + 1_000_000n)).map(([, text]) => text),
    ['refund 1 sent twice'],
  );
  assert.equal((await ok('GET', `/api/v1/incidents/${incident.id}`, { tenant: 'acme' })).hold.holds_pins, true);

  // Resolved with incidents.hold_after_resolve 0s: the next run disposes of it, with evidence like any other.
  await ok('POST', `/api/v1/incidents/${incident.id}/state`, { token: keys['acme-analyst'], body: { state: 'resolved' } });
  assert.equal((await ok('POST', '/api/v1/admin/retention/run')).disposed.records, 1);
  assert.deepEqual(await lines('acme', '{service_name="payments"}', oldNs - 1_000_000n, oldNs + 1_000_000n), []);
});

test('the exported bundle verifies offline with meshlog report verify, and fails after one byte is changed', async () => {
  assert.equal(
    (
      await postOtlpJson(
        meshlog.url,
        meshlog.token,
        otlpJsonRequest('inventory', ['stock went negative for sku 4711', 'restock job started']),
        { 'x-scope-orgid': 'acme' },
      )
    ).status,
    200,
  );
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const found = await waitFor(
    async () => {
      const all = await lines('acme', '{service_name="inventory"}', nowNs - 600n * 1_000_000_000n, nowNs + 60n * 1_000_000_000n);
      return all.length === 2 ? all : undefined;
    },
    { what: 'the inventory lines' },
  );
  const incident = (
    await ok('POST', '/api/v1/incidents', { token: keys['acme-analyst'], body: { title: 'negative stock', severity: 'medium' } })
  ).incident;
  for (const [time, line] of found)
    await ok('POST', `/api/v1/incidents/${incident.id}/pins`, {
      token: keys['acme-analyst'],
      body: { kind: 'line', timestamp_ns: time, line },
    });
  await ok('POST', `/api/v1/incidents/${incident.id}/pins`, {
    token: keys['acme-analyst'],
    body: { kind: 'query', query: '{service_name="inventory"}', from: '2026-01-01T00:00:00Z', to: new Date().toISOString() },
  });
  await ok('POST', `/api/v1/incidents/${incident.id}/pins`, {
    token: keys['acme-analyst'],
    body: { kind: 'trace', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
  });
  await ok('POST', `/api/v1/incidents/${incident.id}/notes`, {
    token: keys['acme-analyst'],
    body: { text: 'stock sync raced the restock job' },
  });

  const bundleFile = join(dir, 'incident.json');
  const reviewFile = join(dir, 'review.md');
  const exported = cliRun([
    'incident',
    'export',
    incident.id,
    '--server',
    meshlog.url,
    '--token',
    keys['acme-analyst']!,
    '--out',
    bundleFile,
    '--review',
    reviewFile,
  ]);
  assert.equal(exported.status, 0, exported.out);
  const bundle = JSON.parse(readFileSync(bundleFile, 'utf8'));
  assert.equal(bundle.report, 'meshlog.incident');
  assert.equal(bundle.records.length, 2);
  assert.ok(
    bundle.records.every((record: any) => record.stored && record.seal && record.inclusion?.checkpoint_note),
    JSON.stringify(bundle.records[0]),
  );
  // Each pinned line as its JSONEachRow object (one shape for readers), its batch's compact format named for verify.
  for (const record of bundle.records) {
    assert.equal(record.line_format, 'JSONCompactEachRow');
    assert.equal(JSON.parse(record.stored_line).chain_id, record.chain_id, record.stored_line);
  }
  assert.deepEqual(
    bundle.notes.map((note: any) => note.text),
    ['stock sync raced the restock job'],
  );
  assert.equal(bundle.queries[0].query, '{service_name="inventory"}');
  assert.equal(bundle.traces[0].trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.match(readFileSync(reviewFile, 'utf8'), /pinned trace 4bf92f3577b34da6a3ce929d0e0e4736/);

  const publicKey = join(`${meshlog.dataDir}-signing.key.pub`);
  const verified = cliRun(['report', 'verify', bundleFile, '--public-key', publicKey]);
  assert.equal(verified.status, 0, verified.out);
  assert.match(verified.out, /^OK .*JSON report: signature verifies/m);
  assert.match(verified.out, /^OK .*2 pinned records \(seal, inclusion proof, signed checkpoint\)/m);

  // One byte of the note changed: the signature no longer matches.
  const text = readFileSync(bundleFile, 'utf8');
  const at = text.indexOf('stock sync raced');
  writeFileSync(bundleFile, `${text.slice(0, at)}S${text.slice(at + 1)}`);
  const tampered = cliRun(['report', 'verify', bundleFile, '--public-key', publicKey]);
  assert.equal(tampered.status, 1, tampered.out);
  assert.match(tampered.out, /FAILED .*JSON report: the signature does not match the content/);

  // One byte of a pinned line changed, the signature removed: the sealed fingerprint catches it.
  const forged = JSON.parse(text);
  delete forged.signature;
  const victim = (forged.records as { stored_line: string }[]).find((record) => record.stored_line.includes('stock went negative'))!;
  victim.stored_line = victim.stored_line.replace('stock went negative', 'stock went negativE');
  writeFileSync(bundleFile, JSON.stringify(forged));
  const unsigned = cliRun(['report', 'verify', bundleFile, '--public-key', publicKey]);
  assert.equal(unsigned.status, 1, unsigned.out);
  assert.match(unsigned.out, /does not match the fingerprint sealed at position/);

  // The values unchanged, a key added to the object: not the sealed line either.
  victim.stored_line = victim.stored_line
    .replace('stock went negativE', 'stock went negative')
    .replace('"body":', '"approved":"yes","body":');
  writeFileSync(bundleFile, JSON.stringify(forged));
  const extraKey = cliRun(['report', 'verify', bundleFile, '--public-key', publicKey]);
  assert.equal(extraKey.status, 1, extraKey.out);
  assert.match(extraKey.out, /does not match the fingerprint sealed at position/);
  assert.equal(extraKey.out.match(/does not match the fingerprint/g)?.length, 1, extraKey.out);

  const audit = (await ok('GET', '/api/v1/audit?since=1h&limit=10000')).events as { action: string; target: string }[];
  assert.deepEqual([...new Set(audit.filter((event) => event.target === incident.id).map((event) => event.action))].sort(), [
    'incident.export',
    'incident.note',
    'incident.open',
    'incident.pin',
  ]);
});

test('the meshlog incident commands open, note, move, pin, show and list an incident through the server', async () => {
  const server = ['--server', meshlog.url, '--token', keys['acme-analyst']!];
  const opened = cliRun(['incident', 'open', '--title', 'queue backlog', '--severity', 'low', ...server, '--output', 'json']);
  assert.equal(opened.status, 0, opened.out);
  const { id } = JSON.parse(opened.out) as { id: string };
  for (const args of [
    ['note', id, 'consumers scaled from 2 to 6'],
    ['state', id, 'mitigated', '--reason', 'backlog draining'],
    ['pin', id, '--trace', 'ABCDEF0123456789'],
    ['pin', id, '--query', '{service_name="queue"}', '--from', '2026-12-01T00:00:00Z', '--to', '2026-12-01T01:00:00Z'],
  ]) {
    const run = cliRun(['incident', ...args, ...server]);
    assert.equal(run.status, 0, `${args.join(' ')}: ${run.out}`);
  }
  const shown = cliRun(['incident', 'show', id, ...server]);
  assert.equal(shown.status, 0, shown.out);
  assert.match(shown.out, new RegExp(`^${id}  \\[mitigated\\] low  queue backlog$`, 'm'));
  assert.match(shown.out, /acme-analyst\s+note\s+consumers scaled from 2 to 6/);
  assert.match(shown.out, /"trace_id":"abcdef0123456789"/);
  const listed = cliRun(['incident', 'list', '--state', 'mitigated', ...server]);
  assert.match(listed.out, new RegExp(`^${id}\tmitigated\tlow\t`, 'm'));
  // A pin needs exactly one thing to pin, and a query its range: refused before any request.
  const vague = cliRun(['incident', 'pin', id, '--query', '{a="b"}', ...server]);
  assert.equal(vague.status, 1);
  assert.match(vague.out, /pass --from and --to/);
  const refused = cliRun(['incident', 'show', id, '--server', meshlog.url, '--token', keys['globex-analyst']!]);
  assert.equal(refused.status, 1);
  assert.match(refused.out, /404/);
});

test("another tenant's admin and analyst get 404 for an incident, and lesser roles of its own tenant get 403", async () => {
  const incident = (await ok('POST', '/api/v1/incidents', { token: keys['acme-analyst'], body: { title: 'acme only' } })).incident;
  for (const who of ['globex-admin', 'globex-analyst']) {
    const token = keys[who];
    assert.equal((await call('GET', `/api/v1/incidents/${incident.id}`, { token })).status, 404, who);
    assert.equal((await call('GET', `/api/v1/incidents/${incident.id}/export`, { token })).status, 404, who);
    assert.equal((await call('GET', `/api/v1/incidents/${incident.id}/review`, { token })).status, 404, who);
    assert.equal((await call('POST', `/api/v1/incidents/${incident.id}/notes`, { token, body: { text: 'mine now' } })).status, 404, who);
    assert.equal((await call('POST', `/api/v1/incidents/${incident.id}/state`, { token, body: { state: 'resolved' } })).status, 404, who);
    assert.equal(
      (await call('POST', `/api/v1/incidents/${incident.id}/pins`, { token, body: { kind: 'trace', trace_id: 'abcd' } })).status,
      404,
      who,
    );
    assert.equal((await call('PATCH', `/api/v1/incidents/${incident.id}`, { token, body: { owner: 'mallory' } })).status, 404, who);
    assert.deepEqual((await ok('GET', '/api/v1/incidents', { token })).incidents, [], who);
    // Naming acme in the header is refused before any lookup.
    assert.equal((await call('GET', `/api/v1/incidents/${incident.id}`, { token, tenant: 'acme' })).status, 403, who);
  }
  for (const who of ['acme-auditor', 'acme-ingester']) {
    const token = keys[who];
    assert.equal((await call('GET', '/api/v1/incidents', { token })).status, 403, who);
    assert.equal((await call('GET', `/api/v1/incidents/${incident.id}`, { token })).status, 403, who);
    assert.equal((await call('POST', `/api/v1/incidents/${incident.id}/notes`, { token, body: { text: 'x' } })).status, 403, who);
    assert.equal((await call('GET', `/api/v1/incidents/${incident.id}/export`, { token })).status, 403, who);
  }
  const untouched = (await ok('GET', `/api/v1/incidents/${incident.id}`, { token: keys['acme-analyst'] })).incident;
  assert.deepEqual(
    untouched.timeline.map((entry: any) => entry.kind),
    ['opened'],
  );
});

test('bad and extreme input gets a clear 4xx and leaves the incident as it was', async () => {
  const incident = (await ok('POST', '/api/v1/incidents', { token: keys['acme-analyst'], body: { title: 'input checks' } })).incident;
  const path = `/api/v1/incidents/${incident.id}`;
  const token = keys['acme-analyst'];
  const refusals: [string, string, unknown, number, RegExp][] = [
    ['POST', '/api/v1/incidents', { title: '' }, 400, /title/],
    ['POST', '/api/v1/incidents', { title: 'x'.repeat(201) }, 400, /title/],
    ['POST', '/api/v1/incidents', { title: 'ok', severity: 'apocalyptic' }, 400, /severity/],
    ['POST', `${path}/state`, { state: 'closed' }, 400, /state/],
    ['POST', `${path}/state`, { state: 'open' }, 409, /already open/],
    ['POST', `${path}/notes`, { text: '   ' }, 400, /text/],
    ['POST', `${path}/notes`, { text: 'n'.repeat(10_001) }, 400, /text/],
    ['POST', `${path}/pins`, { kind: 'everything' }, 400, /kind/],
    ['POST', `${path}/pins`, { kind: 'line', record: 'not-a-record' }, 400, /chain/],
    ['POST', `${path}/pins`, { kind: 'line', record: 'acme/w-1#99999#0' }, 404, /no stored line/],
    ['POST', `${path}/pins`, { kind: 'line', timestamp_ns: '1', line: 'never logged' }, 404, /no stored line/],
    ['POST', `${path}/pins`, { kind: 'trace', trace_id: 'not hex!' }, 400, /trace/],
    ['POST', `${path}/pins`, { kind: 'query', query: '{a="b"}', from: 'yesterday-ish', to: 'now' }, 400, /from/],
    ['GET', '/api/v1/incidents/..%2F..%2Fetc', undefined, 404, /no incident/],
  ];
  for (const [method, url, body, status, message] of refusals) {
    const answer = await call(method, url, { token, body });
    assert.equal(answer.status, status, `${method} ${url} ${JSON.stringify(body)?.slice(0, 80)}: ${answer.text}`);
    assert.match(answer.text, message, `${method} ${url}`);
  }
  const malformed = await fetch(`${meshlog.url}${path}/notes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{"text": ',
  });
  assert.equal(malformed.status, 400);
  assert.deepEqual(
    (await ok('GET', path, { token })).incident.timeline.map((entry: any) => entry.kind),
    ['opened'],
  );
});

test("the SOC 2 report's incidents section lists the period's incidents with their response times", async () => {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const report = await ok('GET', `/api/v1/reports/soc2?from=${encodeURIComponent(from)}&format=json`);
  const section = (report.sections as any[]).find((candidate) => candidate.id === 'incidents');
  assert.deepEqual(section.criteria, ['CC7.3', 'CC7.4', 'CC7.5']);
  const byTitle = new Map((section.data.incidents as any[]).map((incident) => [incident.title, incident]));
  const fromAlert = byTitle.get('CheckoutErrors: checkout logged 4 errors');
  assert.equal(fromAlert.source, 'alert');
  assert.ok(fromAlert.seconds_to_acknowledge >= 0);
  assert.deepEqual(fromAlert.alerts, ['CheckoutErrors']);
  const resolved = byTitle.get('double refunds');
  assert.equal(resolved.state_at_period_end, 'resolved');
  assert.ok(resolved.seconds_to_resolve >= 0);
  assert.equal(section.status, 'pass', section.reason);
  assert.ok(section.data.mean_seconds_to_resolve >= 0);
  const change = (report.sections as any[]).find((candidate) => candidate.id === 'changes');
  assert.ok(change.data.by_kind['incident.pin'] >= 3, 'pins hold records from retention: they are changes');
});
