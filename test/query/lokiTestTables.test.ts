import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { lokiLikeIngest } from '../support/lokiConformanceLogs.js';
import { startMeshlog, type RunningMeshlog } from '../support/meshlogProcess.js';
import { postOtlpJson } from '../support/otlpJson.js';

/**
 * Grafana Loki's own test tables as conformance, run against two real servers:
 * one with ingest-time parsing on (the default) and one with it off. Every
 * expected value is a fact taken from Loki's tests (grafana/loki
 * pkg/logql/log/parser_test.go, fmt_test.go, pkg/logql/engine_test.go); the
 * lines are pushed through the Loki push API and read back through
 * /loki/api/v1/query_range with categorize-labels, so the labels a parser
 * yields are compared as Loki's `parsed` category, on both servers.
 */

const tenant = 'loki-tables';
const servers: { name: string; meshlog: RunningMeshlog }[] = [];
/** Ten minutes ago, whole seconds: inside any acceptance window. */
const baseS = Math.floor(Date.now() / 1000) - 600;
const at = (second: number) => (BigInt(baseS + second) * 1_000_000_000n).toString();

interface Line {
  labels: Record<string, string>;
  line: string;
  metadata?: Record<string, string>;
  second?: number;
}

/** Loki's TestLogfmtParser_parse: [case, stream labels, line, non-strict parsed labels, strict parsed labels (when they differ), structured metadata]. */
const logfmtCases: [string, Record<string, string>, string, Record<string, string>, Record<string, string>?, Record<string, string>?][] = [
  ['not logfmt', { foo: 'bar' }, 'foobar====wqe=sdad1r', {}, { __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 8 : unexpected '='" }],
  ['key alone logfmt', { foo: 'bar' }, 'buzz bar=foo', { bar: 'foo' }],
  ['quoted logfmt', { foo: 'bar' }, 'foobar="foo bar"', { foobar: 'foo bar' }],
  ['escaped control chars in logfmt', { a: 'b' }, 'foobar="foo\\nbar\\tbaz"', { foobar: 'foo\nbar\tbaz' }],
  ['literal control chars in logfmt', { a: 'b' }, 'foobar="foo\nbar\tbaz"', { foobar: 'foo\nbar\tbaz' }],
  ['escaped slash logfmt', { a: 'b' }, 'foobar="foo ba\\\\r baz"', { foobar: 'foo ba\\r baz' }],
  ['literal newline and escaped slash logfmt', { a: 'b' }, 'foobar="foo bar\nb\\\\az"', { foobar: 'foo bar\nb\\az' }],
  ['double property logfmt', { foo: 'bar' }, 'foobar="foo bar" latency=10ms', { foobar: 'foo bar', latency: '10ms' }],
  ['duplicate from line property', { foo: 'bar' }, 'foobar="foo bar" foobar=10ms', { foobar: 'foo bar' }],
  ['duplicate property', { foo: 'bar' }, 'foo="foo bar" foobar=10ms', { foo_extracted: 'foo bar', foobar: '10ms' }],
  ['invalid key names', { foo: 'bar' }, 'foo="foo bar" foo.bar=10ms test-dash=foo', { foo_extracted: 'foo bar', foo_bar: '10ms', test_dash: 'foo' }],
  ['empty key', { foo: 'bar' }, 'foo="foo bar" =notkey bar=10ms', { foo_extracted: 'foo bar', bar: '10ms' }, { foo_extracted: 'foo bar', __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 15 : unexpected '='" }],
  ['double quote in key', { foo: 'bar' }, 'foo="foo bar" bu"zz=10ms', { foo_extracted: 'foo bar' }, { foo_extracted: 'foo bar', __error__: 'LogfmtParserErr', __error_details__: 'logfmt syntax error at pos 17 : unexpected \'"\'' }],
  ['= in value', { foo: 'bar' }, 'bar=bu=zz foo="foo bar"', { foo_extracted: 'foo bar' }, { __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 7 : unexpected '='" }],
  ['duplicate conflict with structured metadata', {}, 'app=foo level=error', { app_extracted: 'foo', level: 'error' }, undefined, { app: 'foo_sm' }],
];

/** Loki's Test_jsonParser_Parse: [case, stream labels, line, parsed labels]. */
const jsonCases: [string, Record<string, string>, string, Record<string, string>][] = [
  ['multi depth', {}, '{"app":"foo","namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar"}}}', { app: 'foo', namespace: 'prod', pod_uuid: 'foo', pod_deployment_ref: 'foobar' }],
  ['numeric', {}, '{"counter":1, "price": {"_net_":5.56909}}', { counter: '1', price__net_: '5.56909' }],
  ['skip arrays', {}, '{"counter":1, "price": {"net_":["10","20"]}}', { counter: '1' }],
  ['bad key replaced', {}, '{"cou-nter":1}', { cou_nter: '1' }],
  ['errors', {}, '{n}', { __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" }],
  ['duplicate extraction', { app: 'bar' }, '{"app":"foo","namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar"}}}', { app_extracted: 'foo', namespace: 'prod', pod_uuid: 'foo', pod_deployment_ref: 'foobar' }],
];

/** The line of Loki's TestJSONExpressionParser. */
const jsonExpressionLine = '{"app":"foo","field with space":"value","field with ÜFT8👌":"value","null_field":null,"bool_field":false,"namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar", "params": [1,2,3,"string_value"]}}}';

/**
 * Loki's TestJSONExpressionParser: [case, stream labels, line, `| json` parameters, parsed labels, structured metadata].
 * Its cases whose expected label is empty (a path matching nothing, null) are left out: an empty label is no label in an API answer.
 */
const jsonExpressionCases: [string, Record<string, string>, string, string, Record<string, string>, Record<string, string>?][] = [
  ['single field', {}, jsonExpressionLine, 'app="app"', { app: 'foo' }],
  ['alternate syntax', {}, jsonExpressionLine, 'test=`["field with space"]`', { test: 'value' }],
  ['multiple fields', {}, jsonExpressionLine, 'app="app", namespace="namespace"', { app: 'foo', namespace: 'prod' }],
  ['utf8', {}, jsonExpressionLine, 'utf8=`["field with ÜFT8👌"]`', { utf8: 'value' }],
  ['nested field', {}, jsonExpressionLine, 'uuid="pod.uuid"', { uuid: 'foo' }],
  ['nested field alternate syntax', {}, jsonExpressionLine, 'uuid=`pod["uuid"]`', { uuid: 'foo' }],
  ['nested field alternate syntax 2', {}, jsonExpressionLine, 'uuid=`["pod"]["uuid"]`', { uuid: 'foo' }],
  ['nested field alternate syntax 3', {}, jsonExpressionLine, 'uuid=`["pod"].uuid`', { uuid: 'foo' }],
  ['array element', {}, jsonExpressionLine, 'param="pod.deployment.params[0]"', { param: '1' }],
  ['array string element', {}, jsonExpressionLine, 'param="pod.deployment.params[3]"', { param: 'string_value' }],
  ['full array', {}, jsonExpressionLine, 'params="pod.deployment.params"', { params: '[1,2,3,"string_value"]' }],
  ['full object', {}, jsonExpressionLine, 'deployment="pod.deployment"', { deployment: '{"ref":"foobar", "params": [1,2,3,"string_value"]}' }],
  ['boolean field', {}, jsonExpressionLine, 'bool="bool_field"', { bool: 'false' }],
  ['label override', { uuid: 'bar' }, jsonExpressionLine, 'uuid="pod.uuid"', { uuid_extracted: 'foo' }],
  ['nested escaped object', { foo: 'bar' }, String.raw`{"app":"{ \"key\": \"value\", \"key2\":\"value2\"}"}`, 'app="app"', { app: '{ "key": "value", "key2":"value2"}' }],
  ['field with escaped value inside the json string', { foo: 'bar' }, String.raw`{"app":"{\"name\":\"great \\\"loki\\\"\"}"}`, 'app="app"', { app: String.raw`{"name":"great \"loki\""}` }],
  ['duplicate field name takes first value', { foo: 'bar' }, '{"app":"foo","app":"duplicate"}', 'app="app"', { app: 'foo' }],
  ['duplicate conflict with structured metadata', {}, jsonExpressionLine, 'app="app"', { app_extracted: 'foo' }, { app: 'app_sm' }],
];

/** Loki's Test_regexpParser_Parse: [case, stream labels, line, regular expression, parsed labels, structured metadata]. */
const regexpCases: [string, Record<string, string>, string, string, Record<string, string>, Record<string, string>?][] = [
  ['no matches', { app: 'foo' }, 'blah', '(?P<foo>foo|bar)buzz', {}],
  ['double matches', { app: 'bar' }, 'matchebuzz barbuzz', '(?P<foo>.*)buzz', { foo: 'matchebuzz bar' }],
  ['duplicate labels', { bar: 'foo' }, 'barbuzz', '(?P<bar>bar)buzz', { bar_extracted: 'bar' }],
  ['multiple labels extracted', { app: 'foo' }, 'status=200,latency=500ms', String.raw`status=(?P<status>\w+),latency=(?P<latency>\w+)(ms|ns)`, { status: '200', latency: '500' }],
  ['duplicate conflict with structured metadata', {}, 'status=200,latency=500ms', String.raw`status=(?P<status>\w+),latency=(?P<latency>\w+)(ms|ns)`, { status_extracted: '200', latency: '500' }, { status: '400' }],
];

/** Loki's TestLineFormatter_Format: [case, logfmt line giving the labels, template, expected line]. */
const templateCases: [string, string, string, string][] = [
  ['count', 'foo="abc abc abc" bar=blop', '{{.foo | count "abc" }}', '3'],
  ['count regex', 'foo="abc abc abc" bar=blop', '{{.foo | count "a|b|c" }}', '9'],
  ['Replace', 'foo=blip bar=blop', 'foo{{.foo}}buzz{{ Replace .bar "blop" "bar" -1 }}', 'fooblipbuzzbar'],
  ['trim', 'foo="  blip " bar=blop', '{{.foo | trim }} {{ .bar  | trimAll "op" }} {{ .bar  | trimPrefix "b" }} {{ .bar  | trimSuffix "p" }}', 'blip bl lop blo'],
  ['lower and upper', 'foo=BLIp bar=blop', '{{.foo | lower }} {{ .bar  | upper }}', 'blip BLOP'],
  ['repeat', 'foo=BLIp', '{{ "foo" | repeat 3 }}', 'foofoofoo'],
  ['indent', 'foo=BLIp', '{{ "foo\\n bar" | indent 4 }}', '    foo\n     bar'],
  ['nindent', 'foo=BLIp', '{{ "foo" | nindent 2 }}', '\n  foo'],
  ['mathint', 'foo=1 bar=3 baz=10 bazz=20', '{{ add .foo 1 | sub .bar | mul .baz | div .bazz}}', '2'],
  ['mathfloat', 'foo=1.5 bar=5 baz=10.5 bazz=20.2', '{{ addf .foo 1.5 | subf .bar 1.5 | mulf .baz | divf .bazz }}', '3.8476190476190477'],
  ['base64encode', 'foo="i\'m a string, encode me!"', '{{ .foo | b64enc }}', 'aSdtIGEgc3RyaW5nLCBlbmNvZGUgbWUh'],
  ['base64decode', 'foo=aSdtIGEgc3RyaW5nLCBlbmNvZGUgbWUh', '{{ .foo | b64dec }}', "i'm a string, encode me!"],
  ['base64decode missing padding', 'foo=Zm9vYmE bar=Zm9vYg', '{{ .foo | b64dec }} {{ .bar | b64dec }}', 'fooba foob'],
  ['alignLeft', 'foo=hello', '{{ alignLeft 4 .foo }}', 'hell'],
  ['alignRight', 'foo=hello', '{{ alignRight 4 .foo }}', 'ello'],
  ['urldecode', 'foo=%2Floki%2Fapi%3Fquery%3Dsum%28x%29+y', '{{.foo | urldecode }} {{ urldecode .foo }}', '/loki/api?query=sum(x) y /loki/api?query=sum(x) y'],
];

const caseLabel = (kind: string, index: number) => ({ service_name: 'tables', case: `${kind}-${index}` });

function dataSet(): Line[] {
  const lines: Line[] = [];
  logfmtCases.forEach(([, labels, line, , , metadata], i) => lines.push({ labels: { ...labels, ...caseLabel('logfmt', i) }, line, metadata }));
  jsonCases.forEach(([, labels, line], i) => lines.push({ labels: { ...labels, ...caseLabel('json', i) }, line }));
  regexpCases.forEach(([, labels, line, , , metadata], i) => lines.push({ labels: { ...labels, ...caseLabel('regexp', i) }, line, metadata }));
  jsonExpressionCases.forEach(([, labels, line, , , metadata], i) => lines.push({ labels: { ...labels, ...caseLabel('json-expression', i) }, line, metadata }));
  templateCases.forEach(([, line], i) => lines.push({ labels: caseLabel('template', i), line }));
  // engine_test.go: 300 samples of `foo` from 46 s (we push 46 s…75 s), increasing by 1 from 47, and constant 1.
  for (let second = 46; second < 76; second++) {
    lines.push({ labels: { service_name: 'tables', case: 'counter-inc', app: 'foo' }, line: `foo=${second + 1}`, second });
    lines.push({ labels: { service_name: 'tables', case: 'counter-const', app: 'foo' }, line: 'foo=1', second });
  }
  // The same keys twice over, as ingest-time parsing would store them.
  lines.push({ labels: { service_name: 'tables', case: 'once-json' }, line: '{"counter":5,"msg":"hi","nested":{"a":1},"tags":["x"]}' });
  lines.push({ labels: { service_name: 'tables', case: 'once-logfmt' }, line: 'counter=5 status=200 msg="hi there"' });
  return lines;
}

async function push(meshlog: RunningMeshlog, lines: Line[]): Promise<void> {
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
    body: JSON.stringify({
      streams: lines.map((line) => ({ stream: line.labels, values: [line.metadata ? [at(line.second ?? 1), line.line, line.metadata] : [at(line.second ?? 1), line.line]] })),
    }),
  });
  assert.equal(response.status, 204, await response.text());
}

async function get(meshlog: RunningMeshlog, path: string, params: Record<string, string>, categorize = true): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}?${new URLSearchParams(params)}`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant, ...(categorize ? { 'x-loki-response-encoding-flags': 'categorize-labels' } : {}) },
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${params.query}: ${text}`);
  return JSON.parse(text);
}

/** The one entry a case's query returns: its line and parsed labels. */
async function onlyEntry(meshlog: RunningMeshlog, query: string): Promise<{ line: string; parsed: Record<string, string> }> {
  const body = await get(meshlog, '/loki/api/v1/query_range', { query, start: at(0), end: at(100), limit: '10' });
  const entries = body.data.result.flatMap((stream: { values: [string, string, { parsed?: Record<string, string> }][] }) => stream.values);
  assert.equal(entries.length, 1, `${query}: ${JSON.stringify(body.data.result)}`);
  return { line: entries[0][1], parsed: entries[0][2].parsed ?? {} };
}

/** Runs every case on both servers and reports all mismatches at once. */
async function eachCase<T>(cases: T[], check: (meshlog: RunningMeshlog, item: T, index: number) => Promise<void>): Promise<void> {
  const failures: string[] = [];
  for (const { name, meshlog } of servers) {
    for (const [index, item] of cases.entries()) {
      try {
        await check(meshlog, item, index);
      } catch (error) {
        failures.push(`[${name}] ${(error as Error).message}`);
      }
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length * servers.length} cases failed:\n${failures.join('\n\n')}`);
}

before(async () => {
  const [on, off] = await Promise.all([startMeshlog({ env: {} }), startMeshlog({ env: lokiLikeIngest })]);
  servers.push({ name: 'ingest parsing on', meshlog: on }, { name: 'ingest parsing off', meshlog: off });
  const lines = dataSet();
  await Promise.all(servers.map(({ meshlog }) => push(meshlog, lines)));
  for (const { meshlog } of servers) {
    const response = await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify(otlpMapBody), { 'x-scope-orgid': tenant });
    assert.equal(response.status, 200, await response.text());
  }
});

/** An OTLP/JSON log whose body is a map (kvlistValue), as the OpenTelemetry SDKs send structured logs. */
const otlpMapBody = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-map' } }] },
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: at(5),
              body: {
                kvlistValue: {
                  values: [
                    { key: 'event', value: { stringValue: 'order placed' } },
                    { key: 'user', value: { kvlistValue: { values: [{ key: 'id', value: { stringValue: 'u-17' } }, { key: 'tier', value: { stringValue: 'gold' } }] } } },
                    { key: 'items', value: { intValue: '3' } },
                    { key: 'total', value: { doubleValue: 19.5 } },
                    { key: 'paid', value: { boolValue: true } },
                    { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }] } } },
                    { key: 'order.id', value: { intValue: '9007199254740993' } },
                  ],
                },
              },
            },
          ],
        },
      ],
    },
  ],
};
after(async () => {
  for (const { meshlog } of servers) if (meshlog.process.exitCode === null) await meshlog.stop();
});

test(`logfmt: Loki's ${logfmtCases.length} parser cases, default and --strict, with ingest parsing on and off`, async () => {
  await eachCase(logfmtCases, async (meshlog, [name, , , expected, strict], index) => {
    const selector = `{case="logfmt-${index}"}`;
    assert.deepEqual((await onlyEntry(meshlog, `${selector} | logfmt`)).parsed, expected, `${name}: | logfmt`);
    assert.deepEqual((await onlyEntry(meshlog, `${selector} | logfmt --strict`)).parsed, strict ?? expected, `${name}: | logfmt --strict`);
  });
});

test(`json: Loki's ${jsonCases.length} parser cases, with ingest parsing on and off`, async () => {
  await eachCase(jsonCases, async (meshlog, [name, , , expected], index) => {
    assert.deepEqual((await onlyEntry(meshlog, `{case="json-${index}"} | json`)).parsed, expected, name);
  });
});

test(`json with parameters: Loki's ${jsonExpressionCases.length} expression parser cases, with ingest parsing on and off`, async () => {
  await eachCase(jsonExpressionCases, async (meshlog, [name, , , params, expected], index) => {
    assert.deepEqual((await onlyEntry(meshlog, `{case="json-expression-${index}"} | json ${params}`)).parsed, expected, name);
  });
});

test(`regexp: Loki's ${regexpCases.length} regexp parser cases, with ingest parsing on and off`, async () => {
  await eachCase(regexpCases, async (meshlog, [name, , , expression, expected], index) => {
    assert.deepEqual((await onlyEntry(meshlog, `{case="regexp-${index}"} | regexp ${JSON.stringify(expression)}`)).parsed, expected, name);
  });
});

test(`line_format: Loki's ${templateCases.length} template function cases (trimAll, Replace, math, base64, align…)`, async () => {
  await eachCase(templateCases, async (meshlog, [name, , template, expected], index) => {
    const { line } = await onlyEntry(meshlog, `{case="template-${index}"} | logfmt | line_format ${JSON.stringify(template)}`);
    assert.equal(line, expected, name);
  });
});

test('rate_counter and rate over an unwrapped counter: Loki\'s engine test values (0.4833…, 0, 27)', async () => {
  const cases: [string, string][] = [
    // 15 samples in (30 s, 60 s]: t = 46…60, values 47…61; start extrapolated by half the 1 s spacing: 14 × 14.5/14 / 30.
    ['rate_counter({case="counter-inc"} | logfmt | unwrap foo [30s])', '0.4833333333333334'],
    ['rate_counter({case="counter-const"} | logfmt | unwrap foo [30s])', '0'],
    // SUM(47…61) = 810; 810 / 30.
    ['rate({case="counter-inc"} | logfmt | unwrap foo [30s])', '27'],
  ];
  await eachCase(cases, async (meshlog, [query, expected]) => {
    const body = await get(meshlog, '/loki/api/v1/query', { query, time: at(60) }, false);
    assert.deepEqual(body.data.result.map((sample: { value: [number, string] }) => sample.value[1]), [expected], query);
  });
});

test('| json and | logfmt give each key of the line once, the same labels whether ingest parsing ran or not', async () => {
  const results = [];
  for (const { meshlog } of servers) {
    const json = await get(meshlog, '/loki/api/v1/query_range', { query: '{case="once-json"} | json', start: at(0), end: at(100) }, false);
    const logfmt = await get(meshlog, '/loki/api/v1/query_range', { query: '{case="once-logfmt"} | logfmt', start: at(0), end: at(100) }, false);
    results.push([json.data.result.map((s: { stream: object }) => s.stream), logfmt.data.result.map((s: { stream: object }) => s.stream)]);
  }
  assert.deepEqual(results[0], results[1], 'ingest parsing on and off answer the same label sets');
  assert.deepEqual(results[1], [
    [{ case: 'once-json', counter: '5', msg: 'hi', nested_a: '1', service_name: 'tables' }],
    [{ case: 'once-logfmt', counter: '5', msg: 'hi there', service_name: 'tables', status: '200' }],
  ]);
});

test('a map-shaped OTLP body is stored as JSON whose keys | json gives as Loki does (nested with _, arrays skipped), ingest parsing on or off', async () => {
  const answers = [];
  for (const { meshlog } of servers) {
    const body = await get(meshlog, '/loki/api/v1/query_range', { query: '{service_name="otlp-map"} | json', start: at(0), end: at(100) });
    const [[, line, categories]] = body.data.result[0].values;
    answers.push({ line, parsed: categories.parsed });
  }
  assert.deepEqual(answers[0], answers[1], 'ingest parsing on and off answer the same');
  // Every digit of a 64-bit integer is kept in the stored body.
  assert.equal(answers[0].line, '{"event":"order placed","user":{"id":"u-17","tier":"gold"},"items":3,"total":19.5,"paid":true,"tags":["a"],"order.id":9007199254740993}');
  // order_id is left out of the comparison: the query engine's JSON parsing rounds integers past 2^53 (Loki keeps the text).
  const { order_id: orderId, ...rest } = answers[0].parsed;
  assert.ok(orderId !== undefined, 'order.id is a key | json gives');
  assert.deepEqual(rest, { event: 'order placed', user_id: 'u-17', user_tier: 'gold', items: '3', total: '19.5', paid: 'true' });
});
