import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { lokiCall } from '../../support/lokiCall.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

// A fixed minute of logs: T0 is a whole second, records at T0+1s … T0+9s.
const T0 = 1_767_000_000n * 1_000_000_000n;
const T0s = 1_767_000_000;
const at = (seconds: number) => (T0 + BigInt(seconds) * 1_000_000_000n).toString();

interface Input {
  service: string;
  namespace: string;
  second: number;
  severity: number;
  text?: string;
  body: string;
  attributes?: Record<string, string>;
}

const acme: Input[] = [
  {
    service: 'checkout',
    namespace: 'shop',
    second: 1,
    severity: 9,
    text: 'INFO',
    body: '{"msg":"order placed","status":200,"latency":"120ms","user":{"id":"u1"}}',
    attributes: { 'http.route': '/pay' },
  },
  {
    service: 'checkout',
    namespace: 'shop',
    second: 2,
    severity: 17,
    text: 'ERROR',
    body: '{"msg":"payment failed","status":502,"latency":"1.5s","user":{"id":"u2"}}',
  },
  {
    service: 'checkout',
    namespace: 'shop',
    second: 3,
    severity: 13,
    body: '{"msg":"retry payment","status":429,"latency":"300ms","user":{"id":"u1"}}',
  },
  { service: 'cart', namespace: 'shop', second: 4, severity: 9, body: 'level=info msg="cart updated" items=3 duration=15ms size=2KB' },
  { service: 'cart', namespace: 'shop', second: 5, severity: 5, body: 'level=debug msg="cache hit" items=1 duration=2ms size=512B' },
  {
    service: 'cart',
    namespace: 'shop',
    second: 6,
    severity: 17,
    body: 'level=error msg="cart lost connection" items=0 duration=2s size=1MB',
  },
  { service: 'gateway', namespace: 'edge', second: 7, severity: 9, body: '10.0.0.1 GET /api/users 200 12ms' },
  { service: 'gateway', namespace: 'edge', second: 8, severity: 9, body: '10.0.0.2 POST /api/orders 500 250ms' },
  { service: 'gateway', namespace: 'edge', second: 9, severity: 9, body: '\u001b[31m10.0.0.3 GET /health 200 1ms\u001b[0m' },
];
const beta: Input[] = [
  { service: 'checkout', namespace: 'shop', second: 1, severity: 9, body: 'beta secret order placed' },
  {
    service: 'checkout',
    namespace: 'shop',
    second: 2,
    severity: 9,
    body: 'beta secret order shipped',
    attributes: { 'http.route': '/ship' },
  },
];

let meshlog: RunningMeshlog;

function otlpJson(inputs: Input[]): object {
  const attributes = (map: Record<string, string>) => Object.entries(map).map(([key, value]) => ({ key, value: { stringValue: value } }));
  return {
    resourceLogs: inputs.map((input) => ({
      resource: { attributes: attributes({ 'service.name': input.service, 'k8s.namespace.name': input.namespace }) },
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: at(input.second),
              severityNumber: input.severity,
              severityText: input.text,
              body: { stringValue: input.body },
              attributes: attributes(input.attributes ?? {}),
            },
          ],
        },
      ],
    })),
  };
}

async function ingest(tenant: string, inputs: Input[]): Promise<void> {
  const response = await fetch(`${meshlog.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
    body: JSON.stringify(otlpJson(inputs)),
  });
  assert.equal(response.status, 200, await response.text());
}

const get = (path: string, params: Record<string, string | string[]>, tenant = 'acme') => lokiCall(meshlog, tenant, path, params);

const window = { start: T0.toString(), end: (T0 + 60_000_000_000n).toString() };

/** Runs a log query and returns its lines in the order returned across streams, newest first. */
async function lines(query: string, tenant = 'acme', extra: Record<string, string> = {}): Promise<string[]> {
  const { status, body, text } = await get('/loki/api/v1/query_range', { query, ...window, ...extra }, tenant);
  assert.equal(status, 200, text);
  assert.equal(body.status, 'success');
  assert.equal(body.data.resultType, 'streams');
  const entries: [string, string][] = body.data.result.flatMap((stream: { values: [string, string][] }) => stream.values);
  for (const [ts] of entries) assert.match(ts, /^\d{19}$/);
  return entries.sort((a, b) => (BigInt(b[0]) > BigInt(a[0]) ? 1 : -1)).map(([, line]) => line);
}

async function instant(query: string, second: number): Promise<any> {
  const { status, body, text } = await get('/loki/api/v1/query', { query, time: at(second) });
  assert.equal(status, 200, text);
  assert.equal(body.status, 'success');
  return body.data;
}

before(async () => {
  meshlog = await startMeshlog();
  await ingest('acme', acme);
  await ingest('beta', beta);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

const bodyOf = (second: number) => acme.find((input) => input.second === second)!.body;

test('log queries: selectors, line filters, parsers and label filters give the exact lines', async () => {
  assert.deepEqual(await lines('{service_name="checkout"}'), [bodyOf(3), bodyOf(2), bodyOf(1)]);
  assert.deepEqual(await lines('{service_name="checkout"}', 'acme', { direction: 'forward', limit: '2' }).then((l) => l.length), 2);
  assert.deepEqual(await lines('{k8s_namespace_name="shop"} |= "payment"'), [bodyOf(3), bodyOf(2)]);
  assert.deepEqual(await lines('{k8s_namespace_name="shop"} |= "payment" or "cache"'), [bodyOf(5), bodyOf(3), bodyOf(2)]);
  assert.deepEqual(await lines('{k8s_namespace_name=~"sh.*", service_name!="checkout"} != "cart" |~ "level=(debug|error)"'), [bodyOf(5)]);
  assert.deepEqual(await lines('{service_name="checkout"} | json | status >= 400'), [bodyOf(3), bodyOf(2)]);
  assert.deepEqual(await lines('{service_name="checkout"} | json | latency > 1s'), [bodyOf(2)]);
  assert.deepEqual(await lines('{service_name="checkout"} | json | user_id="u1" | line_format "{{.msg}} by {{.user_id | ToUpper}}"'), [
    'retry payment by U1',
    'order placed by U1',
  ]);
  assert.deepEqual(await lines('{service_name="cart"} | logfmt | duration > 10ms and size > 1KB'), [bodyOf(6), bodyOf(4)]);
  assert.deepEqual(await lines('{service_name="cart"} | logfmt | items < 1 or level="debug"'), [bodyOf(6), bodyOf(5)]);
  assert.deepEqual(
    await lines(
      '{service_name="gateway"} | pattern "<ip> <method> <path> <status> <_>" | status="500" | line_format "{{.method}} {{.path}}"',
    ),
    ['POST /api/orders'],
  );
  assert.deepEqual(await lines('{service_name="gateway"} | decolorize |= "health"'), ['10.0.0.3 GET /health 200 1ms']);
  assert.deepEqual(
    await lines('{service_name="gateway"} | regexp "(?P<method>GET|POST) (?P<path>\\\\S+)" | method="GET" | line_format "{{.path}}"'),
    ['/health', '/api/users'],
  );
  assert.deepEqual(await lines('{level="error"}'), [bodyOf(6), bodyOf(2)]);
  assert.deepEqual(await lines('{service_name="checkout"} | http_route="/pay"'), [bodyOf(1)]);
});

test('a label names every attribute key that normalizes to it (dotted, dashed, non-ASCII), and no key of another length', async () => {
  // Each line names the key its attribute has; the lookup only normalizes keys as long as the label (one `_` per character).
  const keys = ['http-route', 'http€route', 'http.route', 'http_route_', 'xhttp.route', 'http__route'];
  await ingest(
    'keys',
    keys.map((key, i) => ({
      service: 'keys',
      namespace: 'k',
      second: i + 1,
      severity: 9,
      body: `key ${key}`,
      attributes: { [key]: '/x' },
    })),
  );
  assert.deepEqual((await lines('{service_name="keys"} | http_route="/x"', 'keys')).sort(), [
    'key http-route',
    'key http.route',
    'key http€route',
  ]);
  assert.deepEqual((await lines('{service_name="keys"} | http_route_="/x"', 'keys')).sort(), ['key http_route_']);
  assert.deepEqual(await lines('{service_name="keys"} | http_route="/x"', 'acme'), [], 'another tenant sees none of them');

  // The namespace is a column computed at insert (migrations 19 and 26) with the same rule, from resource keys.
  const resourceKeys = ['k8s-namespace-name', 'k8s€namespace€name', 'k8s_namespace_name_', 'k8s.namespace'];
  const response = await fetch(`${meshlog.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'keys' },
    body: JSON.stringify({
      resourceLogs: resourceKeys.map((key, i) => ({
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'ns-keys' } },
            { key, value: { stringValue: 'edge' } },
          ],
        },
        scopeLogs: [{ logRecords: [{ timeUnixNano: at(i + 1), body: { stringValue: `resource key ${key}` } }] }],
      })),
    }),
  });
  assert.equal(response.status, 200, await response.text());
  assert.deepEqual((await lines('{k8s_namespace_name="edge", service_name="ns-keys"}', 'keys')).sort(), [
    'resource key k8s-namespace-name',
    'resource key k8s€namespace€name',
  ]);
});

test('log streams carry Loki 3 label names, parsed labels and drop/keep/label_format', async () => {
  const { body } = await get('/loki/api/v1/query_range', {
    query: '{service_name="checkout"} | json | status=502 | keep service_name, msg | label_format message=msg',
    ...window,
  });
  assert.deepEqual(body.data.result, [{ stream: { message: 'payment failed', service_name: 'checkout' }, values: [[at(2), bodyOf(2)]] }]);
  // Plain prose: nothing for ingest-time parsers to extract, so the labels are exactly the resource's, the level and the flag of a line in no known format.
  const full = await get('/loki/api/v1/query_range', { query: '{service_name="checkout"} |= "shipped"', ...window }, 'beta');
  assert.deepEqual(full.body.data.result, [
    {
      stream: {
        detected_level: 'info',
        http_route: '/ship',
        k8s_namespace_name: 'shop',
        meshlog_parse_status: 'no_format',
        service_name: 'checkout',
      },
      values: [[at(2), 'beta secret order shipped']],
    },
  ]);
  const dropped = await get(
    '/loki/api/v1/query_range',
    { query: '{service_name="checkout"} | drop http_route, detected_level="info"', ...window },
    'beta',
  );
  assert.deepEqual(dropped.body.data.result, [
    {
      stream: { k8s_namespace_name: 'shop', meshlog_parse_status: 'no_format', service_name: 'checkout' },
      values: [
        [at(2), 'beta secret order shipped'],
        [at(1), 'beta secret order placed'],
      ],
    },
  ]);
});

test('tenants are isolated on every read endpoint', async () => {
  assert.deepEqual(await lines('{service_name="checkout"}', 'beta'), ['beta secret order shipped', 'beta secret order placed']);
  assert.deepEqual(await lines('{service_name="checkout"} |= "secret"', 'acme'), []);
  assert.deepEqual((await get('/loki/api/v1/label/service_name/values', window, 'beta')).body, { status: 'success', data: ['checkout'] });
  assert.deepEqual((await get('/loki/api/v1/label/service_name/values', window, 'nobody')).body, { status: 'success', data: [] });
  const metric = await get('/loki/api/v1/query', { query: 'sum(count_over_time({service_name="checkout"}[1m]))', time: at(60) }, 'beta');
  assert.equal(metric.body.data.result[0].value[1], '2');
});

test('metric queries: range and vector aggregations, unwrap, binary operations, offset', async () => {
  const perService = await instant('sum by (service_name) (count_over_time({k8s_namespace_name=~".+"}[1m]))', 60);
  assert.equal(perService.resultType, 'vector');
  assert.deepEqual(
    perService.result.map((r: any) => [r.metric, r.value]).sort((a: any, b: any) => a[0].service_name.localeCompare(b[0].service_name)),
    [
      [{ service_name: 'cart' }, [T0s + 60, '3']],
      [{ service_name: 'checkout' }, [T0s + 60, '3']],
      [{ service_name: 'gateway' }, [T0s + 60, '3']],
    ],
  );
  assert.deepEqual((await instant('sum(rate({service_name="cart"}[1m]))', 60)).result, [{ metric: {}, value: [T0s + 60, '0.05'] }]);
  assert.deepEqual((await instant('count(count_over_time({service_name="checkout"}[1m]))', 60)).result, [
    { metric: {}, value: [T0s + 60, '3'] },
  ]);
  assert.deepEqual(
    (await instant('max_over_time({service_name="checkout"} | json | unwrap duration(latency) [1m]) by (service_name)', 60)).result,
    [{ metric: { service_name: 'checkout' }, value: [T0s + 60, '1.5'] }],
  );
  assert.deepEqual(
    (await instant('sum by (service_name) (sum_over_time({service_name="checkout"} | json | unwrap status [1m]))', 60)).result,
    [{ metric: { service_name: 'checkout' }, value: [T0s + 60, '1131'] }],
  );
  assert.deepEqual(
    (await instant('quantile_over_time(0.5, {service_name="cart"} | logfmt | unwrap bytes(size) [1m]) by (service_name)', 60)).result,
    [{ metric: { service_name: 'cart' }, value: [T0s + 60, '2000'] }],
  );
  assert.deepEqual(
    (await instant('avg_over_time({service_name="cart"} | logfmt | unwrap items | __error__="" [1m]) by (k8s_namespace_name)', 60)).result,
    [
      // Loki's incremental mean (3, then 2, then 2 + (0/3 − 2/3)), not 4/3.
      { metric: { k8s_namespace_name: 'shop' }, value: [T0s + 60, '1.3333333333333335'] },
    ],
  );
  const bytes = (service: string) => acme.filter((i) => i.service === service).reduce((n, i) => n + Buffer.byteLength(i.body), 0);
  assert.deepEqual((await instant('topk(1, sum by (service_name) (bytes_over_time({k8s_namespace_name=~".+"}[1m])))', 60)).result, [
    { metric: { service_name: 'checkout' }, value: [T0s + 60, String(bytes('checkout'))] },
  ]);
  assert.deepEqual((await instant('sum(count_over_time({service_name="checkout"}[1m])) * 2 + 1', 60)).result, [
    { metric: {}, value: [T0s + 60, '7'] },
  ]);
  assert.deepEqual((await instant('sum(count_over_time({service_name="checkout"}[1m])) > 2', 60)).result, [
    { metric: {}, value: [T0s + 60, '3'] },
  ]);
  assert.deepEqual((await instant('sum(count_over_time({service_name="checkout"}[1m])) > 5', 60)).result, []);
  assert.deepEqual((await instant('sum(count_over_time({service_name="checkout"}[1m])) > bool 5', 60)).result, [
    { metric: {}, value: [T0s + 60, '0'] },
  ]);
  assert.deepEqual((await instant('sum(count_over_time({service_name="checkout"}[1m] offset 30s))', 33)).result, [
    { metric: {}, value: [T0s + 33, '3'] },
  ]);
  assert.deepEqual((await instant('sum(count_over_time({service_name="checkout"}[1m] offset 30s))', 32)).result, [
    { metric: {}, value: [T0s + 32, '2'] },
  ]);
  assert.deepEqual((await instant('absent_over_time({service_name="nope"}[1m])', 60)).result, [
    { metric: { service_name: 'nope' }, value: [T0s + 60, '1'] },
  ]);
  const scalar = await instant('2 * 3', 60);
  assert.deepEqual([scalar.resultType, scalar.result], ['scalar', [T0s + 60, '6']]);

  const { body } = await get('/loki/api/v1/query_range', {
    query: 'sum by (detected_level) (count_over_time({k8s_namespace_name="shop"}[5s]))',
    start: at(0),
    end: at(10),
    step: '5s',
  });
  assert.equal(body.data.resultType, 'matrix');
  assert.deepEqual(body.data.result, [
    { metric: { detected_level: 'debug' }, values: [[T0s + 5, '1']] },
    {
      metric: { detected_level: 'error' },
      values: [
        [T0s + 5, '1'],
        [T0s + 10, '1'],
      ],
    },
    { metric: { detected_level: 'info' }, values: [[T0s + 5, '2']] },
    { metric: { detected_level: 'warn' }, values: [[T0s + 5, '1']] },
  ]);
});

test("Grafana's calls: the vector(1)+vector(1) health check is 2, query_range with a step in ms, logs with limit and direction", async () => {
  // grafana pkg/tsdb/loki healthcheck.go: instant query, time = 4 s in nanoseconds (10 digits, so Loki reads seconds).
  const health = await get('/loki/api/v1/query', { query: 'vector(1)+vector(1)', direction: 'backward', time: '4000000000' });
  assert.equal(health.status, 200);
  assert.deepEqual(health.body.data.resultType, 'vector');
  assert.deepEqual(health.body.data.result, [{ metric: {}, value: [4000000000, '2'] }]);
  assert.equal(typeof health.body.data.stats.summary.execTime, 'number');

  const range = await get('/loki/api/v1/query_range', {
    query: 'sum(count_over_time({service_name="gateway"}[2000ms]))',
    direction: 'backward',
    start: at(6),
    end: at(10),
    step: '2000ms',
  });
  assert.deepEqual(range.body.data.result, [
    {
      metric: {},
      values: [
        [T0s + 8, '2'],
        [T0s + 10, '1'],
      ],
    },
  ]);
  const logs = await get('/loki/api/v1/query_range', {
    query: '{service_name="gateway"}',
    direction: 'forward',
    limit: '2',
    start: at(0),
    end: at(60),
    step: '60000ms',
  });
  assert.deepEqual(
    logs.body.data.result.flatMap((s: { values: [string, string][] }) => s.values.map(([ts]) => ts)),
    [at(7), at(8)],
  );
});

test('the query plan header says what SQL and the text index serve and what the engine evaluates', async () => {
  const response = await fetch(
    `${meshlog.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="checkout"} |= "payment failed" | json | status >= 500', ...window })}`,
    {
      headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' },
    },
  );
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.headers.get('x-meshlog-query-plan')!), [
    'stream selector: 1 matcher(s) in SQL, tenant "acme"',
    'line filter |= "payment failed": no whole word in the text (its ends may be parts of longer words; digits are not indexed), scans body (no text index)',
    'json: evaluated by the query engine',
    'label filter on extracted labels or numeric comparison: evaluated by the query engine',
    'json/logfmt label filters: 1 necessary condition(s) in SQL, stages run again in the query engine',
  ]);
  const instantLogs = await get('/loki/api/v1/query', { query: '{service_name="checkout"}', time: at(60) });
  assert.equal(instantLogs.status, 400);
  assert.match(instantLogs.text, /log queries are not supported as an instant query type/);
});

test('labels, label values, series, index stats, volume and buildinfo', async () => {
  const labels = await get('/loki/api/v1/labels', window);
  assert.deepEqual(labels.body, { status: 'success', data: ['detected_level', 'k8s_namespace_name', 'service_name'] });
  assert.deepEqual((await get('/loki/api/v1/label/service_name/values', window)).body.data, ['cart', 'checkout', 'gateway']);
  assert.deepEqual((await get('/loki/api/v1/label/detected_level/values', { ...window, query: '{service_name="cart"}' })).body.data, [
    'debug',
    'error',
    'info',
  ]);
  const series = await get('/loki/api/v1/series', { 'match[]': '{service_name="gateway"}', ...window });
  assert.deepEqual(series.body, {
    status: 'success',
    data: [{ detected_level: 'info', k8s_namespace_name: 'edge', service_name: 'gateway' }],
  });
  const stats = await get('/loki/api/v1/index/stats', { query: '{service_name="checkout"}', ...window });
  assert.deepEqual(stats.body, {
    streams: 3,
    chunks: 3,
    entries: 3,
    bytes: [1, 2, 3].reduce((n, s) => n + Buffer.byteLength(bodyOf(s)), 0),
  });
  const volume = await get('/loki/api/v1/index/volume', { query: '{k8s_namespace_name="edge"}', ...window });
  assert.deepEqual(volume.body.data.result, [
    { metric: { k8s_namespace_name: 'edge' }, value: [T0s + 60, String([7, 8, 9].reduce((n, s) => n + Buffer.byteLength(bodyOf(s)), 0))] },
  ]);
  const build = await get('/loki/api/v1/status/buildinfo', {});
  assert.equal(build.body.version, '3.0.0');
});

test('detected_fields and detected_labels for Grafana Logs Drilldown', async () => {
  const { status, body } = await get('/loki/api/v1/detected_fields', { query: '{service_name="checkout"}', ...window });
  assert.equal(status, 200);
  const byLabel = new Map(body.fields.map((field: { label: string }) => [field.label, field]));
  assert.deepEqual(byLabel.get('status'), { label: 'status', type: 'int', cardinality: 3, parsers: ['json'], jsonPath: ['status'] });
  assert.deepEqual(byLabel.get('latency'), {
    label: 'latency',
    type: 'duration',
    cardinality: 3,
    parsers: ['json'],
    jsonPath: ['latency'],
  });
  assert.deepEqual(byLabel.get('user_id'), {
    label: 'user_id',
    type: 'string',
    cardinality: 2,
    parsers: ['json'],
    jsonPath: ['user', 'id'],
  });
  assert.deepEqual(byLabel.get('http_route'), { label: 'http_route', type: 'string', cardinality: 1, parsers: null });
  assert.equal(byLabel.has('service_name'), false, 'stream labels are not fields');
  const logfmtFields = await get('/loki/api/v1/detected_fields', { query: '{service_name="cart"}', ...window });
  const size = logfmtFields.body.fields.find((field: { label: string }) => field.label === 'size');
  assert.deepEqual(size, { label: 'size', type: 'bytes', cardinality: 3, parsers: ['logfmt'] });
  const labels = await get('/loki/api/v1/detected_labels', { query: '{k8s_namespace_name=~".+"}', ...window });
  assert.deepEqual(labels.body, {
    detectedLabels: [
      { label: 'detected_level', cardinality: 4 },
      { label: 'k8s_namespace_name', cardinality: 2 },
      { label: 'service_name', cardinality: 3 },
    ],
  });
});

test('errors: parse errors carry the position, bad parameters and missing credentials are refused', async () => {
  const parse = await get('/loki/api/v1/query_range', { query: '{service_name="checkout"} | json | status >= ', ...window });
  assert.equal(parse.status, 400);
  assert.equal(
    parse.text,
    'invalid LogQL: parse error at line 1, col 46: expected a quoted string, a number, a duration or a byte size, found end of query',
  );
  const time = await get('/loki/api/v1/query_range', { query: '{a="b"}', start: 'yesterday' });
  assert.equal(time.status, 400);
  assert.match(time.text, /cannot parse "yesterday" to a valid timestamp/);
  const step = await get('/loki/api/v1/query_range', { query: 'count_over_time({a="b"}[1m])', start: '0', end: '1767000000', step: '1s' });
  assert.equal(step.status, 400);
  assert.match(step.text, /maximum resolution of 11000 points/);
  const re2 = await get('/loki/api/v1/query_range', { query: '{service_name="cart"} |~ "cart(?= )"', ...window });
  assert.equal(re2.status, 400);
  // Refused by the parser, which compiles regexes on RE2 as Loki's does.
  assert.match(re2.text, /^invalid LogQL: parse error at line 1, col 26: .*invalid or unsupported Perl syntax: `\(\?=`/);
  const manyToOne = await get('/loki/api/v1/query', {
    query:
      'sum by (service_name, detected_level) (count_over_time({service_name="cart"}[1m])) * ignoring (detected_level) sum by (service_name) (count_over_time({service_name="cart"}[1m]))',
    time: at(60),
  });
  assert.equal(manyToOne.status, 400);
  assert.match(manyToOne.text, /many-to-one matching must be explicit/);
  const anonymous = await fetch(`${meshlog.url}/loki/api/v1/labels`);
  assert.equal(anonymous.status, 401);
});

async function meshlogQuery(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, 'query', ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('meshlog query CLI: raw, jsonl, table and metric output against the running server', async () => {
  const common = ['--from', window.start, '--to', window.end, '--server', meshlog.url, '--org-id', 'acme'];
  const raw = await meshlogQuery(['{service_name="checkout"} |= "payment"', ...common, '--output', 'raw'], {
    MESHLOG_TOKEN: meshlog.token,
  });
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(raw.stdout, `${bodyOf(3)}\n${bodyOf(2)}\n`);
  const forward = await meshlogQuery([
    '{service_name="gateway"} | decolorize',
    ...common,
    '--output',
    'raw',
    '--direction',
    'forward',
    '--limit',
    '2',
    '--token',
    meshlog.token,
  ]);
  assert.equal(forward.stdout, `${bodyOf(7)}\n${bodyOf(8)}\n`);
  const jsonl = await meshlogQuery([
    '{service_name="checkout"} | json | status=502 | keep service_name',
    ...common,
    '--output',
    'jsonl',
    '--token',
    meshlog.token,
  ]);
  assert.deepEqual(JSON.parse(jsonl.stdout), { timestamp: at(2), labels: { service_name: 'checkout' }, line: bodyOf(2) });
  const table = await meshlogQuery([
    '{service_name="checkout"} | json | status=502 | keep service_name',
    ...common,
    '--token',
    meshlog.token,
  ]);
  assert.equal(table.stdout, `2025-12-29T09:20:02.000000000Z\t{service_name="checkout"}\t${bodyOf(2)}\n`);
  const metric = await meshlogQuery([
    'sum(count_over_time({service_name="cart"}[1m]))',
    '--from',
    at(60),
    '--to',
    at(60),
    '--server',
    meshlog.url,
    '--org-id',
    'acme',
    '--token',
    meshlog.token,
  ]);
  assert.equal(metric.stdout, '2025-12-29T09:21:00.000Z\t{}\t3\n');
  // An empty answer says which tenant was read: the admin token without --org-id reads "default", not acme.
  const elsewhere = await meshlogQuery(['{service_name="checkout"}', '--from', window.start, '--to', window.end, '--server', meshlog.url], {
    MESHLOG_TOKEN: meshlog.token,
  });
  assert.equal(elsewhere.code, 0, elsewhere.stderr);
  assert.equal(elsewhere.stdout, '');
  assert.match(elsewhere.stderr, /no results in the token's own tenant .*"default"; --org-id names another/);
  const emptyInAcme = await meshlogQuery(['{service_name="nothing-here"}', ...common, '--token', meshlog.token]);
  assert.equal(emptyInAcme.stderr, 'no results in tenant "acme"\n');
  const denied = await meshlogQuery(['{service_name="checkout"}', ...common]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /server answered 401/);
  const typo = await meshlogQuery(['{service_name="checkout"', ...common]);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /parse error at line 1, col 25: expected "}"/);
});

/** Log queries over the fixed minute: the records expected (by second, newest first) or the lines. */
const logCases: [string, (number | string)[]][] = [
  ['{service_name="cart"}', [6, 5, 4]],
  ['{service_name=~"ca.*"}', [6, 5, 4]],
  ['{service_name=~"c.*"}', [6, 5, 4, 3, 2, 1]],
  ['{k8s_namespace_name="shop", service_name!="cart"}', [3, 2, 1]],
  ['{k8s_namespace_name!~"sh.*", service_name=~".+"}', [9, 8, 7]],
  ['{detected_level="warn"}', [3]],
  ['{level=~"error|warn"}', [6, 3, 2]],
  ['{level="debug"}', [5]],
  ['{service_name="gateway"} |= "GET"', [9, 7]],
  ['{service_name="gateway"} != "GET"', [8]],
  ['{service_name="gateway"} |~ "/api/(users|orders)"', [8, 7]],
  [String.raw`{service_name="gateway"} !~ "^10\\.0\\.0\\.[12] "`, [9]],
  ['{service_name="gateway"} |~ "(?i)post"', [8]],
  ['{service_name=~".+"} |= "payment" |= "retry"', [3]],
  ['{service_name=~".+"} |= "cart" or "order"', [8, 6, 4, 1]],
  ['{service_name=~".+"} != "cart"', [9, 8, 7, 5, 3, 2, 1]],
  ['{service_name=~".+"} |= "u1"', [3, 1]],
  ['{service_name=~".+"} |= "upd"', [4]],
  ['{service_name="checkout"} | json | msg="order placed"', [1]],
  ['{service_name="checkout"} | json | msg=~".*payment.*"', [3, 2]],
  ['{service_name="checkout"} | json | status != 200', [3, 2]],
  ['{service_name="checkout"} | json | status == 429', [3]],
  ['{service_name="checkout"} | json | status > 200 and status < 500', [3]],
  ['{service_name="checkout"} | json | latency >= 300ms', [3, 2]],
  ['{service_name="checkout"} | json | latency < 200ms or status=502', [2, 1]],
  ['{service_name="checkout"} | json first_user="user.id" | first_user="u2"', [2]],
  ['{service_name="checkout"} | json | user_id!="u1"', [2]],
  ['{service_name="cart"} | logfmt | items > 0', [5, 4]],
  ['{service_name="cart"} | logfmt | items >= 0 | duration < 1s', [5, 4]],
  ['{service_name="cart"} | logfmt | size <= 512B', [5]],
  ['{service_name="cart"} | logfmt | size > 1MiB', []],
  ['{service_name="cart"} | logfmt | size >= 1MB', [6]],
  ['{service_name="cart"} | logfmt | msg=~"ca.*"', [6, 5, 4]],
  ['{service_name="cart"} | logfmt | msg=~"cart.*"', [6, 4]],
  ['{service_name="cart"} | logfmt msg | msg="cache hit"', [5]],
  ['{service_name="cart"} | logfmt | (items=1 or items=3) and duration > 10ms', [4]],
  ['{service_name="gateway"} | pattern "<ip> <method> <path> <status> <latency>" | latency > 100ms | __error__=""', [8]],
  [
    '{service_name="gateway"} | decolorize | pattern "<ip> <method> <path> <status> <latency>" | status="200"',
    ['10.0.0.3 GET /health 200 1ms', 7],
  ],
  [String.raw`{service_name="gateway"} | regexp "(?P<ip>\\d+\\.\\d+\\.\\d+\\.\\d+)" | ip=~"10\\.0\\.0\\.[23]"`, [9, 8]],
  ['{service_name="checkout"} | json | line_format "{{.status}}"', ['429', '502', '200']],
  ['{service_name="checkout"} | json | line_format "{{.msg | upper}}" |= "PAYMENT"', ['RETRY PAYMENT', 'PAYMENT FAILED']],
  ['{service_name="checkout"} | json | line_format "{{.user_id}}:{{.latency}}" != "u1"', ['u2:1.5s']],
  ['{service_name="cart"} | logfmt | label_format lvl=level | lvl="debug"', [5]],
  ['{service_name="cart"} | logfmt | label_format tag="{{.level}}-{{.items}}" | tag="error-0"', [6]],
  ['{service_name="cart"} | logfmt | keep level | level="info"', [4]],
  // As Loki (Test_unpackParser_Parse), unpack takes labels only from a packed line (one with `_entry`); these are plain JSON.
  ['{service_name="checkout"} | unpack | msg="retry payment"', []],
  ['{service_name=~".+"} | json | __error__!=""', [9, 8, 7, 6, 5, 4]],
  ['{service_name=~".+"} | json | __error__=""', [3, 2, 1]],
  ['{service_name="checkout"} | http_route="/pay"', [1]],
  ['{service_name="checkout"} | http_route=""', [3, 2]],
  ['{service_name=~".+"} | detected_level="info" |= "GET"', [9, 7]],
  ['{service_name="gateway"} | decolorize | line_format "{{__line__}}!" |= "health 200 1ms!"', ['10.0.0.3 GET /health 200 1ms!']],
];

/** Metric queries evaluated at T0+60s: [labels, value] of each series, sorted by labels. */
const bytesOf = (seconds: number[]) => seconds.reduce((n, s) => n + Buffer.byteLength(bodyOf(s)), 0);
const cartItemsMean = 4 / 3;
const metricCases: [string, [Record<string, string>, string][]][] = [
  ['sum(count_over_time({service_name=~".+"}[1m]))', [[{}, '9']]],
  ['sum(count_over_time({service_name=~".+"}[5s]))', []],
  [
    'sum by (detected_level) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{ detected_level: 'debug' }, '1'],
      [{ detected_level: 'error' }, '2'],
      [{ detected_level: 'info' }, '5'],
      [{ detected_level: 'warn' }, '1'],
    ],
  ],
  [
    'sum by (level) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{ level: 'debug' }, '1'],
      [{ level: 'error' }, '2'],
      [{ level: 'info' }, '5'],
      [{ level: 'warn' }, '1'],
    ],
  ],
  // Grafana's logs volume query.
  [
    'sum by (level, detected_level) (count_over_time({service_name=~".+"} | drop __error__[1m]))',
    [
      [{ detected_level: 'debug', level: 'debug' }, '1'],
      [{ detected_level: 'error', level: 'error' }, '2'],
      [{ detected_level: 'info', level: 'info' }, '5'],
      [{ detected_level: 'warn', level: 'warn' }, '1'],
    ],
  ],
  ['sum(rate({service_name="checkout"}[1m]))', [[{}, '0.05']]],
  ['sum(bytes_over_time({service_name="gateway"}[1m]))', [[{}, String(bytesOf([7, 8, 9]))]]],
  ['sum(bytes_rate({service_name="gateway"}[1m]))', [[{}, String(bytesOf([7, 8, 9]) / 60)]]],
  ['sum(count_over_time({service_name=~".+"} |= "GET" [1m]))', [[{}, '2']]],
  ['sum(count_over_time({service_name="checkout"} | json | status >= 400 [1m]))', [[{}, '2']]],
  [
    'sum by (status) (count_over_time({service_name="checkout"} | json [1m]))',
    [
      [{ status: '200' }, '1'],
      [{ status: '429' }, '1'],
      [{ status: '502' }, '1'],
    ],
  ],
  ['avg(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '3']]],
  ['count(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '3']]],
  ['min(sum by (detected_level) (count_over_time({service_name=~".+"}[1m])))', [[{}, '1']]],
  ['max(sum by (detected_level) (count_over_time({service_name=~".+"}[1m])))', [[{}, '5']]],
  ['stddev(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '0']]],
  [
    'topk(2, sum by (detected_level) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ detected_level: 'error' }, '2'],
      [{ detected_level: 'info' }, '5'],
    ],
  ],
  [
    'bottomk(1, sum by (service_name) (bytes_over_time({service_name=~".+"}[1m])))',
    [[{ service_name: 'gateway' }, String(bytesOf([7, 8, 9]))]],
  ],
  [
    'sum without (detected_level) (sum by (detected_level, service_name) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ service_name: 'cart' }, '3'],
      [{ service_name: 'checkout' }, '3'],
      [{ service_name: 'gateway' }, '3'],
    ],
  ],
  ['sum by (service_name) (sum_over_time({service_name="cart"} | logfmt | unwrap items [1m]))', [[{ service_name: 'cart' }, '4']]],
  [
    'avg_over_time({service_name="checkout"} | json | unwrap duration(latency) [1m]) by (service_name)',
    [
      [
        { service_name: 'checkout' },
        String([0.12, 1.5, 0.3].reduce((mean, value, index) => mean + (value / (index + 1) - mean / (index + 1)), 0)),
      ],
    ],
  ],
  [
    'min_over_time({service_name="checkout"} | json | unwrap duration(latency) [1m]) by (service_name)',
    [[{ service_name: 'checkout' }, '0.12']],
  ],
  ['max_over_time({service_name="cart"} | logfmt | unwrap bytes(size) [1m]) by (service_name)', [[{ service_name: 'cart' }, '1000000']]],
  [
    'quantile_over_time(0.5, {service_name="checkout"} | json | unwrap status [1m]) by (service_name)',
    [[{ service_name: 'checkout' }, '429']],
  ],
  ['first_over_time({service_name="checkout"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'checkout' }, '200']]],
  ['last_over_time({service_name="checkout"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'checkout' }, '429']]],
  [
    'stdvar_over_time({service_name="cart"} | logfmt | unwrap items [1m]) by (service_name)',
    [[{ service_name: 'cart' }, String(((3 - cartItemsMean) ** 2 + (1 - cartItemsMean) ** 2 + (0 - cartItemsMean) ** 2) / 3)]],
  ],
  ['sum(count_over_time({service_name="checkout"}[1m])) + sum(count_over_time({service_name="cart"}[1m]))', [[{}, '6']]],
  ['sum(count_over_time({service_name="checkout"}[1m])) / 2', [[{}, '1.5']]],
  ['2 ^ sum(count_over_time({service_name="checkout"}[1m]))', [[{}, '8']]],
  ['sum(count_over_time({service_name="checkout"}[1m])) % 2', [[{}, '1']]],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) == 3',
    [
      [{ service_name: 'cart' }, '3'],
      [{ service_name: 'checkout' }, '3'],
      [{ service_name: 'gateway' }, '3'],
    ],
  ],
  [
    'sum by (detected_level) (count_over_time({service_name=~".+"}[1m])) > 1',
    [
      [{ detected_level: 'error' }, '2'],
      [{ detected_level: 'info' }, '5'],
    ],
  ],
  [
    'sum by (detected_level) (count_over_time({service_name=~".+"}[1m])) < bool 2',
    [
      [{ detected_level: 'debug' }, '1'],
      [{ detected_level: 'error' }, '0'],
      [{ detected_level: 'info' }, '0'],
      [{ detected_level: 'warn' }, '1'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) and sum by (service_name) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [[{ service_name: 'gateway' }, '3']],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) unless sum by (service_name) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [
      [{ service_name: 'cart' }, '3'],
      [{ service_name: 'checkout' }, '3'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name="cart"}[1m])) or sum by (service_name) (count_over_time({service_name="gateway"}[1m]))',
    [
      [{ service_name: 'cart' }, '3'],
      [{ service_name: 'gateway' }, '3'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~"g.*"}[1m])) * on (service_name) sum by (service_name) (bytes_over_time({service_name=~".+"}[1m]))',
    [[{ service_name: 'gateway' }, String(3 * bytesOf([7, 8, 9]))]],
  ],
  [
    'sum by (service_name, detected_level) (count_over_time({service_name="cart", level="debug"}[1m])) * ignoring (detected_level) sum by (service_name) (count_over_time({service_name="cart"}[1m]))',
    [[{ service_name: 'cart' }, '3']],
  ],
  ['vector(5) - vector(2)', [[{}, '3']]],
  ['vector(2) * sum(count_over_time({service_name="cart"}[1m]))', [[{}, '6']]],
  ['-sum(count_over_time({service_name="cart"}[1m]))', [[{}, '-3']]],
  ['sum(count_over_time({service_name="checkout"}[1m] offset 58s))', [[{}, '2']]],
  ['absent_over_time({service_name="checkout"}[1m])', []],
  ['absent_over_time({service_name="nope", k8s_namespace_name=~"x"}[1m])', [[{ service_name: 'nope' }, '1']]],
  ['sum(count_over_time({service_name="gateway"} | pattern "<ip> <method> <_>" | method="GET" [1m]))', [[{}, '2']]],
  [
    'sum by (method) (count_over_time({service_name="gateway"} | decolorize | pattern "<_> <method> <_>" [1m]))',
    [
      [{ method: 'GET' }, '2'],
      [{ method: 'POST' }, '1'],
    ],
  ],
  [String.raw`sum(count_over_time({service_name="gateway"} | regexp "(?P<code>\\d{3}) " | code=~"5.." [1m]))`, [[{}, '1']]],
];

test(`table: ${logCases.length} log queries and ${metricCases.length} metric queries give exactly the expected results`, async () => {
  for (const [query, expected] of logCases) {
    const got = await lines(query);
    const want = expected.map((item) => (typeof item === 'number' ? bodyOf(item) : item));
    assert.deepEqual(got, want, query);
  }
  for (const [query, expected] of metricCases) {
    const data = await instant(query, 60);
    assert.equal(data.resultType, 'vector', query);
    const got = data.result
      .map((series: { metric: Record<string, string>; value: [number, string] }) => {
        assert.equal(series.value[0], T0s + 60, query);
        return [series.metric, series.value[1]];
      })
      .sort((a: [Record<string, string>], b: [Record<string, string>]) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1));
    assert.deepEqual(got, expected, query);
  }
});
