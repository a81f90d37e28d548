import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readAuditTrail, readCommitted } from '../../support/storageReader.js';

let meshlog: RunningMeshlog;
const keys: Record<string, { id: string; key: string }> = {};

const userId = 'u-48151623';
const email = 'bob@example.org';
const lines = [`login ok user.id=${userId} from web`, `{"user_id":"${userId}","action":"logout"}`, `payment declined for ${email}`];

async function createKey(name: string, roles: string[]): Promise<{ id: string; key: string }> {
  const response = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, roles, tenants: ['acme'] }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as { id: string; key: string };
}

async function get(path: string, token: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${meshlog.url}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'acme' } });
  return { status: response.status, body: await response.json() };
}

const logQuery = `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="billing"}')}&since=1h&direction=forward`;

/** Every returned line, with the labels of its stream. */
async function queryLines(token: string): Promise<{ line: string; labels: Record<string, string> }[]> {
  const { status, body } = await get(logQuery, token);
  assert.equal(status, 200, JSON.stringify(body));
  const streams = body.data.result as { stream: Record<string, string>; values: [string, string][] }[];
  return streams
    .flatMap((stream) => stream.values.map(([, line]) => ({ line, labels: stream.stream })))
    .sort((a, b) => a.line.localeCompare(b.line));
}

async function unmaskRecords(): Promise<{ actor: string; target: string; detail: string }[]> {
  await meshlog.stop();
  const rows = await readAuditTrail<{ actor: string; target: string; detail: string }>(
    meshlog.dataDir,
    `SELECT log_attributes['audit.actor.id'] AS actor, log_attributes['audit.target'] AS target, log_attributes['audit.detail'] AS detail
     FROM meshlog.logs WHERE log_attributes['audit.action'] = 'data.unmask' ORDER BY timestamp`,
  );
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: meshlogArgs });
  return rows;
}

let meshlogArgs: string[];

before(async () => {
  const dir = tempDataDir('meshlog-masking-config-');
  const configFile = join(dir, 'meshlog.yaml');
  writeFileSync(configFile, ['masking:', '  fields: [user.id]', 'pipeline:', '  redaction:', '    mode: observe', ''].join('\n'));
  meshlogArgs = ['--config', configFile];
  meshlog = await startMeshlog({ args: meshlogArgs });
  keys.analyst = await createKey('analyst', ['analyst']);
  keys.admin = await createKey('tenant admin', ['admin']);
  keys.unmasker = await createKey('privileged analyst', ['analyst', 'unmasker']);
  for (const [i, body] of lines.entries()) {
    const request = JSON.parse(otlpJsonRequest('billing', [body]));
    // The first line's user is a resource attribute, so a stream label (series, label values, metric labels).
    if (i === 0) request.resourceLogs[0].resource.attributes.push({ key: 'user.id', value: { stringValue: userId } });
    const response = await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify(request), { 'x-scope-orgid': 'acme' });
    assert.equal(response.status, 200);
  }
});

after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('an analyst reads sensitive fields masked: by name in labels and lines, and what observe-mode rules marked', async () => {
  const read = await queryLines(keys.analyst!.key);
  assert.deepEqual(
    read.map((entry) => entry.line),
    [`login ok user.id=[MASKED] from web`, `payment declined for [MASKED:email]`, `{"user_id":"[MASKED]","action":"logout"}`].sort((a, b) =>
      a.localeCompare(b),
    ),
  );
  const labelled = read.find((entry) => entry.line.startsWith('login'))!;
  assert.equal(labelled.labels.user_id, '[MASKED]');
  assert.equal(read.find((entry) => entry.line.startsWith('payment'))!.labels.meshlog_sensitive, 'email');
  // Observe mode stored the values as sent: masking happens on the way out.
  await meshlog.stop();
  const stored = await readCommitted<{ body: string }>(meshlog.dataDir, `SELECT body FROM meshlog.logs WHERE service_name = 'billing'`);
  assert.deepEqual(stored.map((row) => row.body).sort(), [...lines].sort());
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: meshlogArgs });
});

test('label values, series and metric labels of a sensitive field are masked too', async () => {
  const values = await get('/loki/api/v1/label/user_id/values?since=1h', keys.analyst!.key);
  assert.deepEqual(values.body.data, ['[MASKED]']);
  const series = await get(`/loki/api/v1/series?match[]=${encodeURIComponent('{service_name="billing"}')}&since=1h`, keys.analyst!.key);
  const users = (series.body.data as Record<string, string>[]).map((labels) => labels.user_id).filter((value) => value !== undefined);
  assert.deepEqual(users, ['[MASKED]']);
  const metric = await get(
    `/loki/api/v1/query?query=${encodeURIComponent('sum by (user_id) (count_over_time({service_name="billing"} | user_id != "" [1h]))')}`,
    keys.analyst!.key,
  );
  assert.equal(metric.status, 200, JSON.stringify(metric.body));
  assert.deepEqual(
    metric.body.data.result.map((series: { metric: Record<string, string> }) => series.metric),
    [{ user_id: '[MASKED]' }],
  );
});

test('the admin role does not imply unmask; the unmasker role reads values as stored, and each such read is audited once', async () => {
  assert.ok((await queryLines(keys.admin!.key)).every((entry) => !entry.line.includes(userId) && !entry.line.includes(email)));
  const read = await queryLines(keys.unmasker!.key);
  assert.deepEqual(
    read.map((entry) => entry.line),
    [...lines].sort((a, b) => a.localeCompare(b)),
  );
  // A read that revealed nothing is not an unmasked read.
  assert.equal(
    (await get(`/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="nothing-here"}')}&since=1h`, keys.unmasker!.key))
      .status,
    200,
  );
  const records = await unmaskRecords();
  assert.equal(records.length, 1);
  assert.equal(records[0]!.actor, keys.unmasker!.id);
  assert.equal(records[0]!.target, '/loki/api/v1/query_range');
  assert.ok(JSON.parse(records[0]!.detail).values >= 3, records[0]!.detail);
});

/** The first frame of a Loki tail WebSocket (its history) as the given key receives it. */
async function firstTailFrame(token: string): Promise<{ streams: { values: [string, string][] }[] }> {
  const url = `${meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="billing"}')}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'acme' } });
  try {
    return await new Promise((resolve, reject) => {
      socket.once('message', (data) => resolve(JSON.parse(data.toString())));
      socket.once('error', reject);
    });
  } finally {
    socket.close();
  }
}

test('a live tail masks for an analyst; an unmasker tail is audited when it opens', async () => {
  const tailLines = (frame: { streams: { values: [string, string][] }[] }) =>
    frame.streams.flatMap((stream) => stream.values.map(([, line]) => line)).sort();
  assert.ok(tailLines(await firstTailFrame(keys.analyst!.key)).includes('payment declined for [MASKED:email]'));
  assert.deepEqual(tailLines(await firstTailFrame(keys.unmasker!.key)), [...lines].sort());
  const records = await unmaskRecords();
  assert.deepEqual(records.map((record) => [record.actor, record.target]).slice(-1), [[keys.unmasker!.id, '/loki/api/v1/tail']]);
  assert.equal(JSON.parse(records.at(-1)!.detail).tail, true);
});

/** Every line and metric label a query answers, as one text: what the reader got to see. */
async function answerText(query: string, token: string, path = 'query_range'): Promise<string> {
  const response = await fetch(
    `${meshlog.url}/loki/api/v1/${path}?query=${encodeURIComponent(query)}&since=1h${path === 'query' ? '' : '&direction=forward'}`,
    {
      headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'acme' },
    },
  );
  const text = await response.text();
  assert.equal(response.status, 200, `${query}: ${text}`);
  return JSON.stringify((JSON.parse(text) as { data: { result: unknown } }).data.result);
}

test('an analyst cannot read a masked value through line_format, label_format, regexp or label filters', async () => {
  const attacks = [
    '{service_name="billing"} | logfmt | line_format "{{ .user_id | upper }}"',
    '{service_name="billing"} | json | line_format "{{ .user_id }}"',
    '{service_name="billing"} | logfmt | label_format x="{{ substr 0 5 .user_id }}"',
    '{service_name="billing"} | label_format x="{{ .user_id }}"',
    '{service_name="billing"} | regexp "user.id=(?P<x>[\\\\w-]+)"',
    '{service_name="billing"} | line_format "{{ __line__ }}" | regexp "(?P<x>u-\\\\d+)"',
  ];
  for (const query of attacks) {
    const text = await answerText(query, keys.analyst!.key);
    assert.ok(!text.includes(userId.slice(2)) && !text.toUpperCase().includes(userId.toUpperCase().slice(2)), `${query} revealed ${text}`);
  }
  // The same queries reveal it to an unmasker: the attack really extracts the value.
  assert.ok((await answerText(attacks[0]!, keys.unmasker!.key)).includes(userId.toUpperCase()));
});

test('an analyst cannot learn a masked value from which lines or series a filter keeps', async () => {
  const oracles = [
    `{service_name="billing"} | user_id="${userId}"`,
    `{service_name="billing"} | user_id=~"u-4.*"`,
    `{service_name="billing"} |= "${userId}"`,
    `{service_name="billing", user_id="${userId}"}`,
    `{service_name="billing", user_id=~"u-4.+"}`,
    `{service_name="billing"} | logfmt | user_id="${userId}"`,
  ];
  for (const query of oracles) {
    const text = await answerText(query, keys.analyst!.key);
    assert.equal(text, '[]', `${query} kept lines by the masked value: ${text}`);
    assert.notEqual(await answerText(query, keys.unmasker!.key), '[]', `${query} finds nothing even unmasked, so it proves nothing`);
  }
  // A filter that matches the mask or the secret keeps the lines masking touched, whatever their secret was.
  assert.equal(
    await answerText(`{service_name="billing"} |~ "\\\\[MASKED\\\\]|u-48"`, keys.analyst!.key),
    await answerText('{service_name="billing"} |= "[MASKED]"', keys.analyst!.key),
  );
  // Negative filters keep what the masked value does not match: every line, not those without the secret.
  const negative = await get(
    `/loki/api/v1/query_range?query=${encodeURIComponent(`{service_name="billing"} != "${userId}"`)}&since=1h`,
    keys.analyst!.key,
  );
  assert.equal(
    (negative.body.data.result as { values: unknown[] }[]).reduce((n, stream) => n + stream.values.length, 0),
    lines.length,
  );
});

test('an analyst cannot read a masked value through a metric grouped by an extracted label', async () => {
  const queries = [
    'sum by (x) (count_over_time({service_name="billing"} | regexp "user.id=(?P<x>[\\\\w-]+)" [1h]))',
    'sum by (user_id) (count_over_time({service_name="billing"} | logfmt [1h]))',
    'count_over_time({service_name="billing"} | json | __error__="" [1h])',
  ];
  for (const query of queries) {
    const text = await answerText(query, keys.analyst!.key, 'query');
    assert.ok(!text.includes(userId), `${query} revealed ${text}`);
  }
});

test('an analyst cannot group or filter an unwrap aggregation by a masked label, though SQL windows that aggregation for an unmasker', async () => {
  // A service of its own, so the other tests' line counts stand: one latency with the secret user as a stream label, one without.
  const request = JSON.parse(otlpJsonRequest('billing-latency', ['latency sample']));
  request.resourceLogs[0].resource.attributes.push({ key: 'user.id', value: { stringValue: userId } });
  request.resourceLogs[0].scopeLogs[0].logRecords[0].attributes = [{ key: 'latency_ms', value: { stringValue: '5' } }];
  const plain = JSON.parse(otlpJsonRequest('billing-latency', ['latency sample']));
  plain.resourceLogs[0].scopeLogs[0].logRecords[0].attributes = [{ key: 'latency_ms', value: { stringValue: '7' } }];
  for (const body of [request, plain])
    assert.equal((await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify(body), { 'x-scope-orgid': 'acme' })).status, 200);
  const read = async (query: string, token: string) => {
    const response = await fetch(`${meshlog.url}/loki/api/v1/query?query=${encodeURIComponent(query)}`, {
      headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'acme' },
    });
    const text = await response.text();
    assert.equal(response.status, 200, `${query}: ${text}`);
    return { result: JSON.stringify(JSON.parse(text).data.result), plan: response.headers.get('x-meshlog-query-plan') ?? '' };
  };
  const grouped = 'max_over_time({service_name="billing-latency"} | unwrap latency_ms [1h]) by (user_id)';
  const filters = [
    `max_over_time({service_name="billing-latency"} | user_id="${userId}" | unwrap latency_ms [1h]) by (service_name)`,
    'max_over_time({service_name="billing-latency"} | user_id=~"u-4.+" | unwrap latency_ms [1h]) by (service_name)',
    `max_over_time({service_name="billing-latency", user_id="${userId}"} | unwrap latency_ms [1h]) by (service_name)`,
  ];
  // The unmasker's answers come from SQL's windows and do reveal: the attacks aim at the new path.
  const unmasked = await read(grouped, keys.unmasker!.key);
  assert.match(unmasked.plan, /windowed in SQL/);
  assert.ok(unmasked.result.includes(userId), unmasked.result);
  for (const query of filters) assert.match((await read(query, keys.unmasker!.key)).result, /"5"/, query);
  // The analyst's are the engine's over masked entries: the group is the masked value, the filters keep nothing.
  const masked = await read(grouped, keys.analyst!.key);
  assert.doesNotMatch(masked.plan, /windowed in SQL/);
  assert.ok(!masked.result.includes(userId.slice(2)) && masked.result.includes('MASKED'), masked.result);
  for (const query of filters) {
    const answer = await read(query, keys.analyst!.key);
    assert.equal(answer.result, '[]', `${query} kept a sample by the masked value: ${answer.result}`);
    assert.doesNotMatch(answer.plan, /windowed in SQL/, query);
  }
  // An integer sum by the masked label: SQL sums it for the unmasker only.
  const summed = 'sum by (user_id) (sum_over_time({service_name="billing-latency"} | unwrap latency_ms [1h]))';
  const unmaskedSum = await read(summed, keys.unmasker!.key);
  assert.match(unmaskedSum.plan, /computed per window in SQL/);
  assert.ok(unmaskedSum.result.includes(userId), unmaskedSum.result);
  const maskedSum = await read(summed, keys.analyst!.key);
  assert.doesNotMatch(maskedSum.plan, /windowed in SQL/);
  assert.ok(!maskedSum.result.includes(userId.slice(2)) && maskedSum.result.includes('MASKED'), maskedSum.result);
});

test('an unmasked multi-tenant read (acme|beta) is audited once for each tenant it revealed data of, naming both', async () => {
  const response = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'two-tenant unmasker', roles: ['analyst', 'unmasker'], tenants: ['acme', 'beta'] }),
  });
  assert.equal(response.status, 201);
  const twoTenants = (await response.json()) as { id: string; key: string };
  const request = JSON.parse(otlpJsonRequest('billing', [`beta login user.id=${userId}`]));
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify(request), { 'x-scope-orgid': 'beta' })).status, 200);
  const read = await fetch(`${meshlog.url}${logQuery}`, {
    headers: { authorization: `Bearer ${twoTenants.key}`, 'x-scope-orgid': 'acme|beta' },
  });
  assert.equal(read.status, 200);
  assert.match(await read.text(), new RegExp(userId));
  await meshlog.stop();
  const rows = await readAuditTrail<{ actor: string; tenant: string; detail: string }>(
    meshlog.dataDir,
    `SELECT log_attributes['audit.actor.id'] AS actor, log_attributes['audit.tenant'] AS tenant, log_attributes['audit.detail'] AS detail
     FROM meshlog.logs WHERE log_attributes['audit.action'] = 'data.unmask' AND log_attributes['audit.actor.id'] = '${twoTenants.id}'`,
  );
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: meshlogArgs });
  assert.deepEqual(rows.map((row) => row.tenant).sort(), ['acme', 'beta']);
  for (const row of rows) assert.deepEqual(JSON.parse(row.detail).tenants, ['acme', 'beta']);
});
