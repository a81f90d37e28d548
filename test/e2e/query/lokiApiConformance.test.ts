import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { at, byId, lokiLikeIngest, pushConformanceLogs, T0s } from '../../support/lokiConformanceLogs.js';
import { documented } from '../../support/lokiDocumentedResponses.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { lokiCall } from '../../support/lokiCall.js';

/**
 * The rest of the Loki API a Grafana data source calls, checked field by field
 * against Loki's HTTP API reference (docs/sources/reference/loki-http-api.md):
 * /index/stats, /index/volume and /index/volume_range (targetLabels,
 * aggregateBy, limit, step, POST form bodies), /format_query, /status/buildinfo,
 * /detected_labels and /detected_fields; and every query endpoint's response
 * against the example responses the reference documents.
 */

let meshlog: RunningMeshlog;
const tenant = 'api-conformance';

const call = (path: string, params: Record<string, string>, method: 'GET' | 'POST' = 'GET') =>
  lokiCall(meshlog, tenant, path, params, { method });

const bytesOf = (...ids: string[]) => ids.reduce((n, id) => n + Buffer.byteLength(byId.get(id)!.line), 0);
const window = { start: at(0), end: at(60) };
const webBytes = bytesOf('w1', 'w2', 'w3', 'w4', 'w5', 'w6');
const apiBytes = bytesOf('a1', 'a2', 'a3', 'a4', 'a5', 'd1', 'd2');
const proxyBytes = bytesOf('p1', 'p2', 'p3', 'p4', 'p5');
const workerBytes = bytesOf('k1', 'k2', 'k3', 'k4');

before(async () => {
  meshlog = await startMeshlog({ env: lokiLikeIngest });
  await pushConformanceLogs(meshlog, tenant);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('/index/stats answers {streams, chunks, entries, bytes}, by GET and by POST form', async () => {
  // A meshlog stream is a label set including the detected level: api-prod's four levels are four streams.
  const expected = { streams: 5, chunks: 5, entries: 7, bytes: apiBytes };
  assert.deepEqual((await call('/loki/api/v1/index/stats', { query: '{service_name="api"}', ...window })).body, expected);
  assert.deepEqual((await call('/loki/api/v1/index/stats', { query: '{service_name="api"}', ...window }, 'POST')).body, expected);
  assert.deepEqual((await call('/loki/api/v1/index/stats', { query: '{service_name="nope"}', ...window })).body, {
    streams: 0,
    chunks: 0,
    entries: 0,
    bytes: 0,
  });
  const missing = await call('/loki/api/v1/index/stats', window);
  assert.equal(missing.status, 400);
  assert.match(missing.text, /missing required parameter "query"/);
});

test('/index/volume: a vector by the selector labels, targetLabels, aggregateBy=labels and limit', async () => {
  const bySelector = await call('/loki/api/v1/index/volume', { query: '{service_name=~".+"}', ...window });
  assert.deepEqual(bySelector.body, {
    status: 'success',
    data: {
      resultType: 'vector',
      result: [
        [{ service_name: 'api' }, apiBytes],
        [{ service_name: 'web' }, webBytes],
        [{ service_name: 'proxy' }, proxyBytes],
        [{ service_name: 'worker' }, workerBytes],
      ]
        .sort((a, b) => (b[1] as number) - (a[1] as number))
        .map(([metric, bytes]) => ({ metric, value: [T0s + 60, String(bytes)] })),
    },
  });
  const byEnv = await call('/loki/api/v1/index/volume', { query: '{service_name=~".+"}', targetLabels: 'env', ...window });
  assert.deepEqual(
    byEnv.body.data.result,
    [
      [{ env: 'prod' }, webBytes + proxyBytes + bytesOf('a1', 'a2', 'a3', 'a4', 'a5')],
      [{ env: 'staging' }, workerBytes],
      [{ env: 'dev' }, bytesOf('d1', 'd2')],
    ].map(([metric, bytes]) => ({ metric, value: [T0s + 60, String(bytes)] })),
  );
  // aggregateBy=labels: one series per label name, its value "" (Loki's docs).
  const byLabel = await call(
    '/loki/api/v1/index/volume',
    { query: '{service_name=~".+"}', targetLabels: 'cluster,env', aggregateBy: 'labels', ...window },
    'POST',
  );
  assert.deepEqual(byLabel.body.data.result, [
    { metric: { env: '' }, value: [T0s + 60, String(webBytes + apiBytes + proxyBytes + workerBytes)] },
    { metric: { cluster: '' }, value: [T0s + 60, String(webBytes + apiBytes + proxyBytes)] },
  ]);
  const top = await call('/loki/api/v1/index/volume', { query: '{service_name=~".+"}', limit: '1', ...window });
  assert.equal(top.body.data.result.length, 1);
  const bad = await call('/loki/api/v1/index/volume', { query: '{service_name=~".+"}', aggregateBy: 'streams', ...window });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /aggregateBy must be series or labels/);
});

test("/index/volume_range: a matrix with a point per step holding that step's bytes", async () => {
  const { status, body, text } = await call('/loki/api/v1/index/volume_range', {
    query: '{service_name="web"}',
    start: at(0),
    end: at(30),
    step: '10s',
  });
  assert.equal(status, 200, text);
  assert.deepEqual(body, {
    status: 'success',
    data: {
      resultType: 'matrix',
      result: [
        {
          metric: { service_name: 'web' },
          values: [
            [T0s, String(bytesOf('w1', 'w2'))],
            [T0s + 10, String(bytesOf('w3', 'w4'))],
            [T0s + 20, String(bytesOf('w5', 'w6'))],
          ],
        },
      ],
    },
  });
  const byEnv = await call(
    '/loki/api/v1/index/volume_range',
    { query: '{env=~"prod|dev"}', targetLabels: 'env', start: at(0), end: at(60), step: '1m' },
    'POST',
  );
  assert.deepEqual(byEnv.body.data.result, [
    { metric: { env: 'dev' }, values: [[T0s, String(bytesOf('d1', 'd2'))]] },
    { metric: { env: 'prod' }, values: [[T0s, String(webBytes + proxyBytes + bytesOf('a1', 'a2', 'a3', 'a4', 'a5'))]] },
  ]);
  const tooFine = await call('/loki/api/v1/index/volume_range', { query: '{service_name="web"}', start: '0', end: at(0), step: '1s' });
  assert.equal(tooFine.status, 400);
  assert.match(tooFine.text, /maximum resolution of 11000 points/);
});

test('/format_query: {status, data} with the query reformatted, GET or POST; invalid LogQL is a 400', async () => {
  // Loki's documented example.
  assert.deepEqual((await call('/loki/api/v1/format_query', { query: '{foo=   "bar"}' })).body, { status: 'success', data: '{foo="bar"}' });
  assert.deepEqual((await call('/loki/api/v1/format_query', { query: 'sum by(env)(rate({foo="bar"}|="x"[5m]))' }, 'POST')).body, {
    status: 'success',
    data: 'sum by (env)(rate({foo="bar"} |= "x"[5m]))',
  });
  const invalid = await call('/loki/api/v1/format_query', { query: '{foo="bar"' });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.text, 'invalid LogQL: parse error at line 1, col 11: expected "}", found end of query');
});

test('/status/buildinfo has the six documented string fields', async () => {
  const { body } = await call('/loki/api/v1/status/buildinfo', {});
  assert.deepEqual(Object.keys(body).sort(), ['branch', 'buildDate', 'buildUser', 'goVersion', 'revision', 'version']);
  for (const value of Object.values(body)) assert.equal(typeof value, 'string');
  assert.match(body.version, /^3\.\d+\.\d+$/);
});

test('/detected_labels and /detected_fields describe the data set', async () => {
  const labels = await call('/loki/api/v1/detected_labels', { query: '{service_name=~".+"}', ...window });
  assert.deepEqual(labels.body, {
    detectedLabels: [
      { label: 'cluster', cardinality: 2 },
      { label: 'detected_level', cardinality: 4 },
      { label: 'env', cardinality: 3 },
      { label: 'service_name', cardinality: 4 },
    ],
  });
  const fields = await call('/loki/api/v1/detected_fields', { query: '{service_name="web"}', ...window });
  assert.equal(fields.status, 200, fields.text);
  const byLabel = new Map(fields.body.fields.map((field: { label: string }) => [field.label, field]));
  assert.deepEqual(byLabel.get('status'), { label: 'status', type: 'int', cardinality: 5, parsers: ['json'], jsonPath: ['status'] });
  assert.deepEqual(byLabel.get('latency'), {
    label: 'latency',
    type: 'duration',
    cardinality: 6,
    parsers: ['json'],
    jsonPath: ['latency'],
  });
  assert.deepEqual(byLabel.get('size'), { label: 'size', type: 'bytes', cardinality: 6, parsers: ['json'], jsonPath: ['size'] });
  assert.deepEqual(byLabel.get('user_tier'), {
    label: 'user_tier',
    type: 'string',
    cardinality: 3,
    parsers: ['json'],
    jsonPath: ['user', 'tier'],
  });
  assert.deepEqual(byLabel.get('trace_id'), { label: 'trace_id', type: 'string', cardinality: 1, parsers: null });
  assert.equal(fields.body.limit, 1000);
});

/** A JSON object whose values are all strings is a label set: its keys are data, not fields. */
const isLabelSet = (value: unknown) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');

/**
 * Checks `actual` field by field against a documented example: the same fields (Loki's
 * statistics may carry more than its example shows), the same JSON types, label sets where
 * the example has label sets, `status` and `resultType` the same words, and every element
 * of a list like the example's first, or, for pairs such as [<number: second unix epoch>,
 * <string: value>], position by position.
 */
function conforms(actual: unknown, example: unknown, path: string, problems: string[]): void {
  if (isLabelSet(example)) {
    if (!isLabelSet(actual)) problems.push(`${path}: expected a label set, got ${JSON.stringify(actual)}`);
    return;
  }
  if (Array.isArray(example)) {
    if (!Array.isArray(actual)) return void problems.push(`${path}: expected an array, got ${JSON.stringify(actual)}`);
    const pair = example.length === 2 && typeof example[0] !== typeof example[1];
    if (pair) {
      if (actual.length !== 2) problems.push(`${path}: expected a pair, got ${JSON.stringify(actual)}`);
      actual.forEach((item, index) => conforms(item, example[index], `${path}[${index}]`, problems));
    } else if (example.length > 0) {
      actual.forEach((item, index) => conforms(item, example[0], `${path}[${index}]`, problems));
    }
    return;
  }
  if (typeof example === 'object' && example !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
      return void problems.push(`${path}: expected an object, got ${JSON.stringify(actual)}`);
    const fields = Object.keys(actual);
    for (const key of Object.keys(example)) {
      if (!fields.includes(key)) problems.push(`${path}.${key}: missing`);
      else conforms((actual as Record<string, unknown>)[key], (example as Record<string, unknown>)[key], `${path}.${key}`, problems);
    }
    if (!/\.stats(\.|$)/.test(path))
      for (const key of fields) if (!(key in example)) problems.push(`${path}.${key}: not in Loki's example`);
    return;
  }
  if (typeof actual !== typeof example) problems.push(`${path}: expected a ${typeof example}, got ${JSON.stringify(actual)}`);
  else if ((path.endsWith('.status') || path.endsWith('.resultType')) && actual !== example)
    problems.push(`${path}: expected "${String(example)}", got "${String(actual)}"`);
}

test("every query endpoint answers in the shape of Loki's documented example responses", async () => {
  const cases: [string, string, Record<string, string>, unknown][] = [
    [
      'query (vector)',
      '/loki/api/v1/query',
      { query: 'sum(rate({service_name=~".+"}[1m])) by (env)', time: at(60) },
      documented.queryVector,
    ],
    [
      'query_range (matrix)',
      '/loki/api/v1/query_range',
      { query: 'sum(rate({service_name=~".+"}[10s])) by (env)', start: at(0), end: at(60), step: '20' },
      documented.queryRangeMatrix,
    ],
    ['query_range (streams)', '/loki/api/v1/query_range', { query: '{service_name="web"}', ...window }, documented.queryRangeStreams],
    ['labels', '/loki/api/v1/labels', window, documented.labels],
    ['label values', '/loki/api/v1/label/env/values', window, documented.labelValues],
    ['series', '/loki/api/v1/series', { 'match[]': '{service_name="api"}', ...window }, documented.series],
    ['index/stats', '/loki/api/v1/index/stats', { query: '{service_name="api"}', ...window }, documented.indexStats],
  ];
  const problems: string[] = [];
  for (const [name, path, params, example] of cases) {
    const { status, body, text } = await call(path, params);
    assert.equal(status, 200, `${name}: ${text}`);
    // An empty result would conform vacuously.
    const data = body.data?.result ?? body.data ?? body;
    assert.ok(!Array.isArray(data) || data.length > 0, `${name}: empty result`);
    conforms(body, example, name, problems);
  }
  assert.deepEqual(problems, []);
  // The checker itself: a vector value whose sample is a number, as Prometheus clients would not parse, is caught.
  const wrong: string[] = [];
  conforms(
    { ...documented.queryVector, data: { ...documented.queryVector.data, result: [{ metric: {}, value: [1588889221, 37.69] }] } },
    documented.queryVector,
    'wrong',
    wrong,
  );
  assert.deepEqual(wrong, ['wrong.data.result[0].value[1]: expected a string, got 37.69']);
});

test('/series by POST: the selectors in the form body, match[] repeated', async () => {
  const response = await fetch(`${meshlog.url}/loki/api/v1/series`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant, 'content-type': 'application/x-www-form-urlencoded' },
    body: `match[]=${encodeURIComponent('{service_name="proxy"}')}&match[]=${encodeURIComponent('{env="dev"}')}&start=${at(0)}&end=${at(60)}`,
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { status: string; data: Record<string, string>[] };
  assert.equal(body.status, 'success');
  assert.deepEqual(
    body.data.map((labels) => JSON.stringify(labels)).sort(),
    [
      { cluster: 'us', env: 'dev', service_name: 'api' },
      { cluster: 'eu', env: 'prod', service_name: 'proxy' },
    ]
      .map((labels) => JSON.stringify(labels))
      .sort(),
  );
});
