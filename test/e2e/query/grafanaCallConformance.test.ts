import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiProd, at, byId, lokiLikeIngest, pushConformanceLogs, traceId, web } from '../../support/lokiConformanceLogs.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { lokiCall } from '../../support/lokiCall.js';

/**
 * The calls Grafana's Loki data source and Logs Drilldown make, with
 * `X-Loki-Response-Encoding-Flags: categorize-labels` (which both send for log
 * queries) and without it, compared field by field with what Loki answers:
 * its encoder (pkg/util/marshal/query.go encodeStream/encodeData), its label
 * categories (pkg/logql/log/labels.go LabelsResult: error labels and labels a
 * stage set are parsed, structured metadata wins over stream labels, Loki 3
 * keeps detected_level in structured metadata), /detected_field/<name>/values
 * (docs/sources/reference/loki-http-api.md; pkg/querier/queryrange/detected_fields.go)
 * and /drilldown-limits (pkg/loki/config_handler.go, drilldown_config.go).
 */

let meshlog: RunningMeshlog;
const tenant = 'grafana-calls';
const categorize = { 'x-loki-response-encoding-flags': 'categorize-labels' };

const call = (path: string, params: Record<string, string>, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET') =>
  lokiCall(meshlog, tenant, path, params, { method, headers });

const window = { start: at(0), end: at(60), limit: '1000' };
const line = (id: string) => byId.get(id)!.line;

before(async () => {
  meshlog = await startMeshlog({ env: lokiLikeIngest });
  await pushConformanceLogs(meshlog, tenant);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test("categorize-labels: a stream is its stream labels; each entry carries its structured metadata, in Loki's [ts, line, {structuredMetadata}] shape", async () => {
  const { status, body, text } = await call('/loki/api/v1/query_range', { query: '{service_name="web"}', ...window }, categorize);
  assert.equal(status, 200, text);
  assert.deepEqual(
    Object.keys(body.data),
    ['resultType', 'encodingFlags', 'result', 'stats'],
    'encodingFlags right after resultType, as Loki encodes data',
  );
  assert.deepEqual(body.data.encodingFlags, ['categorize-labels']);
  // One stream (w2's trace_id is metadata, not a label of its own stream); entries without metadata carry {}.
  assert.deepEqual(body.data.result, [
    {
      stream: web,
      values: [
        [at(25), line('w6'), {}],
        [at(20), line('w5'), {}],
        [at(15), line('w4'), {}],
        [at(10), line('w3'), {}],
        [at(5), line('w2'), { structuredMetadata: { trace_id: traceId } }],
        [at(1), line('w1'), {}],
      ],
    },
  ]);
});

test('without categorize-labels: structured metadata is part of the stream labels, entries are [ts, line], no encodingFlags', async () => {
  const { body } = await call('/loki/api/v1/query_range', { query: '{service_name="web"}', ...window });
  assert.deepEqual(Object.keys(body.data), ['resultType', 'result', 'stats']);
  const streams = body.data.result as { stream: Record<string, string>; values: string[][] }[];
  assert.deepEqual(
    streams.map((stream) => stream.stream).sort((a, b) => Object.keys(a).length - Object.keys(b).length),
    [web, { ...web, trace_id: traceId }],
  );
  for (const stream of streams) for (const value of stream.values) assert.equal(value.length, 2);
});

test('categorize-labels: parser output is parsed, detected_level structured metadata, stream labels stay the stream', async () => {
  const { body } = await call(
    '/loki/api/v1/query_range',
    { query: '{service_name="api", env="prod"} | logfmt | user="alice"', ...window },
    categorize,
  );
  assert.deepEqual(body.data.result, [
    {
      stream: apiProd,
      values: [
        [
          at(17),
          line('a4'),
          {
            structuredMetadata: { detected_level: 'info' },
            parsed: { bytes: '4096', duration: '120ms', level: 'info', msg: 'request served', route: '/v1/pay', user: 'alice' },
          },
        ],
        [
          at(2),
          line('a1'),
          {
            structuredMetadata: { detected_level: 'info' },
            parsed: { bytes: '1200', duration: '35ms', level: 'info', msg: 'request served', route: '/v1/items', user: 'alice' },
          },
        ],
      ],
    },
  ]);
  // A parsed key that clashes with a stream label keeps Loki's _extracted name, and is parsed.
  const clash = await call(
    '/loki/api/v1/query_range',
    { query: '{service_name="web"} | json | env_extracted="canary"', ...window },
    categorize,
  );
  assert.equal(clash.body.data.result[0].values[0][2].parsed.env_extracted, 'canary');
  assert.deepEqual(clash.body.data.result[0].stream, web);
});

test('categorize-labels: error labels are parsed labels, as Loki files them', async () => {
  const { body } = await call('/loki/api/v1/query_range', { query: '{service_name="proxy"} | json', ...window, limit: '1' }, categorize);
  const [, , categories] = body.data.result[0].values[0];
  assert.equal(categories.parsed.__error__, 'JSONParserErr');
  assert.equal(categories.structuredMetadata, undefined);
});

test('metric queries: encodingFlags echoed in data, results unchanged by the flag', async () => {
  const query = 'sum by (env) (count_over_time({service_name=~".+"}[1m]))';
  const range = { query, start: at(60), end: at(60), step: '60' };
  const plain = await call('/loki/api/v1/query_range', range);
  const flagged = await call('/loki/api/v1/query_range', range, categorize);
  assert.deepEqual(Object.keys(flagged.body.data), ['resultType', 'encodingFlags', 'result', 'stats']);
  assert.deepEqual(flagged.body.data.result, plain.body.data.result);
  const instant = await call('/loki/api/v1/query', { query, time: at(60) }, categorize);
  assert.deepEqual(instant.body.data.encodingFlags, ['categorize-labels']);
  assert.equal(instant.body.data.resultType, 'vector');
});

test('every other call Grafana and Drilldown make answers the same with categorize-labels on and off', async () => {
  const selector = '{service_name="api"}';
  const calls: [string, Record<string, string>][] = [
    ['/loki/api/v1/labels', { start: at(0), end: at(60) }],
    ['/loki/api/v1/label/service_name/values', { start: at(0), end: at(60) }],
    ['/loki/api/v1/series', { 'match[]': selector, start: at(0), end: at(60) }],
    ['/loki/api/v1/index/stats', { query: selector, start: at(0), end: at(60) }],
    ['/loki/api/v1/index/volume', { query: selector, start: at(0), end: at(60) }],
    ['/loki/api/v1/index/volume_range', { query: selector, start: at(0), end: at(60), step: '60' }],
    ['/loki/api/v1/detected_labels', { query: selector, start: at(0), end: at(60) }],
    ['/loki/api/v1/detected_fields', { query: selector, start: at(0), end: at(60) }],
    ['/loki/api/v1/detected_field/user/values', { query: selector, start: at(0), end: at(60) }],
    ['/loki/api/v1/drilldown-limits', {}],
    ['/loki/api/v1/format_query', { query: selector }],
    ['/loki/api/v1/status/buildinfo', {}],
  ];
  for (const [path, params] of calls) {
    const plain = await call(path, params);
    const flagged = await call(path, params, categorize);
    assert.equal(plain.status, 200, `${path}: ${plain.text}`);
    assert.deepEqual(flagged.body, plain.body, path);
  }
});

test('/detected_field/<name>/values: {values, limit} from parsed lines and structured metadata, GET and POST; none is {}', async () => {
  const users = await call('/loki/api/v1/detected_field/user/values', { query: '{service_name="api"}', start: at(0), end: at(60) });
  assert.equal(users.status, 200, users.text);
  assert.deepEqual(Object.keys(users.body), ['values', 'limit'], 'the documented response fields');
  assert.equal(users.body.limit, 1000, 'the documented default limit');
  assert.deepEqual([...users.body.values].sort(), ['alice', 'bob', 'carol', 'erin', 'root']);
  // Nested JSON keys are named as `| json` names them.
  const posted = await call(
    '/loki/api/v1/detected_field/user_id/values',
    { query: '{service_name="web"}', start: at(0), end: at(60) },
    {},
    'POST',
  );
  assert.deepEqual([...posted.body.values].sort(), ['alice', 'bob', 'carol', 'dave']);
  // Byte values as Loki rewrites them (humanize: SI units, no space) so they can go into a query.
  const sizes = await call('/loki/api/v1/detected_field/size/values', { query: '{service_name="web"}', start: at(0), end: at(60) });
  assert.deepEqual([...sizes.body.values].sort(), ['0B', '1.5kB', '100B', '2.0kB', '20kB', '512B']);
  const metadata = await call('/loki/api/v1/detected_field/trace_id/values', { query: '{service_name="web"}', start: at(0), end: at(60) });
  assert.deepEqual(metadata.body.values, [traceId]);
  const limited = await call('/loki/api/v1/detected_field/user/values', {
    query: '{service_name="api"}',
    start: at(0),
    end: at(60),
    limit: '2',
  });
  assert.equal(limited.body.values.length, 2);
  assert.equal(limited.body.limit, 2);
  assert.deepEqual(
    (await call('/loki/api/v1/detected_field/nope/values', { query: '{service_name="api"}', start: at(0), end: at(60) })).body,
    {},
  );
  assert.equal((await call('/loki/api/v1/detected_field/user/values', { start: at(0), end: at(60) })).status, 400, 'query is required');
});

test("/drilldown-limits: Loki's {limits, pattern_ingester_enabled, version}, limits exactly Loki's published fields with their JSON types", async () => {
  const { status, body, text } = await call('/loki/api/v1/drilldown-limits', {});
  assert.equal(status, 200, text);
  assert.deepEqual(Object.keys(body).sort(), ['limits', 'pattern_ingester_enabled', 'version']);
  assert.equal(typeof body.pattern_ingester_enabled, 'boolean');
  assert.equal(typeof body.version, 'string');
  // Loki's default tenant_limits_allow_publish (pkg/loki/loki.go).
  assert.deepEqual(Object.keys(body.limits).sort(), [
    'discover_log_levels',
    'discover_service_name',
    'log_level_fields',
    'max_entries_limit_per_query',
    'max_line_size_truncate',
    'max_query_bytes_read',
    'max_query_length',
    'max_query_lookback',
    'max_query_range',
    'max_query_series',
    'metric_aggregation_enabled',
    'otlp_config',
    'pattern_persistence_enabled',
    'query_timeout',
    'retention_period',
    'retention_stream',
    'volume_enabled',
    'volume_max_series',
  ]);
  assert.equal(body.limits.max_entries_limit_per_query, 5000, 'query.max_lines');
  assert.equal(body.limits.query_timeout, '1m', 'query.timeout as a Prometheus duration');
  assert.equal(body.limits.retention_period, '4w2d', 'retention.default_max_age 30d as Prometheus prints it');
  assert.equal(body.limits.volume_enabled, true);
  for (const name of ['max_query_length', 'max_query_lookback', 'max_query_range']) assert.match(body.limits[name], /^\d+[a-z]+/);
  assert.ok(Array.isArray(body.limits.discover_service_name) && body.limits.discover_service_name.includes('app'));
  // Loki answers 401 without a tenant; meshlog's equivalent is an unauthenticated request.
  const anonymous = await fetch(`${meshlog.url}/loki/api/v1/drilldown-limits`);
  assert.equal(anonymous.status, 401);
});
