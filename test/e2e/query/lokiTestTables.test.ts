import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { lokiLikeIngest } from '../../support/lokiConformanceLogs.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { postOtlpJson } from '../../support/otlpJson.js';

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
  /** An exact timestamp in nanoseconds, where whole seconds after baseS will not do. */
  ns?: bigint;
}

/**
 * Loki's range_vector_test.go samples: seconds after baseS, in nanoseconds (10 s and 10 s + 1 ns…),
 * in two streams, app=foo and app=bar.
 */
const rangeVectorSamplesNs = [
  [2, 0],
  [5, 0],
  [6, 0],
  [10, 0],
  [10, 1],
  [11, 0],
  [35, 0],
  [35, 1],
  [40, 0],
  [100, 0],
  [100, 1],
].map(([second, ns]) => BigInt(baseS + second) * 1_000_000_000n + BigInt(ns));

/**
 * Loki's Test_RangeVectorIterator (count_over_time through query_range): [range, step, offset, start, end,
 * the count at each evaluation (seconds after baseS) for both streams; a step with no sample is absent].
 */
const rangeVectorCases: [string, string, string, number, number, [number, string][]][] = [
  [
    '5s',
    '30s',
    '',
    10,
    100,
    [
      [10, '2'],
      [40, '2'],
      [100, '1'],
    ],
  ],
  [
    '35s',
    '30s',
    '',
    10,
    100,
    [
      [10, '4'],
      [40, '7'],
      [70, '2'],
      [100, '1'],
    ],
  ],
  [
    '30s',
    '30s',
    '',
    10,
    100,
    [
      [10, '4'],
      [40, '5'],
      [100, '1'],
    ],
  ],
  [
    '50s',
    '10s',
    '',
    110,
    120,
    [
      [110, '2'],
      [120, '2'],
    ],
  ],
  [
    '5s',
    '30s',
    ' offset 10s',
    20,
    110,
    [
      [20, '2'],
      [50, '2'],
      [110, '1'],
    ],
  ],
];

/** Test_RangeVectorIterator_InstantQuery's samples: two hours, one hour and no time before baseS (its `now`). */
const hour = 3600;
const instantSamplesSeconds = [-2 * hour, -hour, 0];

/** Test_RangeVectorIterator_InstantQuery: [range, query time in seconds after baseS, count of both streams or none]. */
const instantRangeCases: [string, number, string | undefined][] = [
  ['30m', -90 * 60, undefined],
  ['60m', -60 * 60, '1'],
  ['30m', -60 * 60, '1'],
  ['60m', -30 * 60, '1'],
  ['30m', -30 * 60, undefined],
  ['60m', 0, '1'],
  ['30m', 0, '1'],
  ['120m', 0, '2'],
  ['30m', -15 * 60, undefined],
];

/** Loki's TestLogfmtParser_parse: [case, stream labels, line, non-strict parsed labels, strict parsed labels (when they differ), structured metadata]. */
const logfmtCases: [string, Record<string, string>, string, Record<string, string>, Record<string, string>?, Record<string, string>?][] = [
  [
    'not logfmt',
    { foo: 'bar' },
    'foobar====wqe=sdad1r',
    {},
    { __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 8 : unexpected '='" },
  ],
  ['key alone logfmt', { foo: 'bar' }, 'buzz bar=foo', { bar: 'foo' }],
  ['quoted logfmt', { foo: 'bar' }, 'foobar="foo bar"', { foobar: 'foo bar' }],
  ['escaped control chars in logfmt', { a: 'b' }, 'foobar="foo\\nbar\\tbaz"', { foobar: 'foo\nbar\tbaz' }],
  ['literal control chars in logfmt', { a: 'b' }, 'foobar="foo\nbar\tbaz"', { foobar: 'foo\nbar\tbaz' }],
  ['escaped slash logfmt', { a: 'b' }, 'foobar="foo ba\\\\r baz"', { foobar: 'foo ba\\r baz' }],
  ['literal newline and escaped slash logfmt', { a: 'b' }, 'foobar="foo bar\nb\\\\az"', { foobar: 'foo bar\nb\\az' }],
  ['double property logfmt', { foo: 'bar' }, 'foobar="foo bar" latency=10ms', { foobar: 'foo bar', latency: '10ms' }],
  ['duplicate from line property', { foo: 'bar' }, 'foobar="foo bar" foobar=10ms', { foobar: 'foo bar' }],
  ['duplicate property', { foo: 'bar' }, 'foo="foo bar" foobar=10ms', { foo_extracted: 'foo bar', foobar: '10ms' }],
  [
    'invalid key names',
    { foo: 'bar' },
    'foo="foo bar" foo.bar=10ms test-dash=foo',
    { foo_extracted: 'foo bar', foo_bar: '10ms', test_dash: 'foo' },
  ],
  [
    'empty key',
    { foo: 'bar' },
    'foo="foo bar" =notkey bar=10ms',
    { foo_extracted: 'foo bar', bar: '10ms' },
    { foo_extracted: 'foo bar', __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 15 : unexpected '='" },
  ],
  [
    'double quote in key',
    { foo: 'bar' },
    'foo="foo bar" bu"zz=10ms',
    { foo_extracted: 'foo bar' },
    { foo_extracted: 'foo bar', __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 17 : unexpected '\"'" },
  ],
  [
    '= in value',
    { foo: 'bar' },
    'bar=bu=zz foo="foo bar"',
    { foo_extracted: 'foo bar' },
    { __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 7 : unexpected '='" },
  ],
  [
    'duplicate conflict with structured metadata',
    {},
    'app=foo level=error',
    { app_extracted: 'foo', level: 'error' },
    undefined,
    { app: 'foo_sm' },
  ],
];

/** Loki's Test_jsonParser_Parse: [case, stream labels, line, parsed labels]. */
const jsonCases: [string, Record<string, string>, string, Record<string, string>][] = [
  [
    'multi depth',
    {},
    '{"app":"foo","namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar"}}}',
    { app: 'foo', namespace: 'prod', pod_uuid: 'foo', pod_deployment_ref: 'foobar' },
  ],
  ['numeric', {}, '{"counter":1, "price": {"_net_":5.56909}}', { counter: '1', price__net_: '5.56909' }],
  ['skip arrays', {}, '{"counter":1, "price": {"net_":["10","20"]}}', { counter: '1' }],
  ['bad key replaced', {}, '{"cou-nter":1}', { cou_nter: '1' }],
  ['errors', {}, '{n}', { __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" }],
  [
    'duplicate extraction',
    { app: 'bar' },
    '{"app":"foo","namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar"}}}',
    { app_extracted: 'foo', namespace: 'prod', pod_uuid: 'foo', pod_deployment_ref: 'foobar' },
  ],
];

/** The line of Loki's TestJSONExpressionParser. */
const jsonExpressionLine =
  '{"app":"foo","field with space":"value","field with ÜFT8👌":"value","null_field":null,"bool_field":false,"namespace":"prod","pod":{"uuid":"foo","deployment":{"ref":"foobar", "params": [1,2,3,"string_value"]}}}';

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
  [
    'full object',
    {},
    jsonExpressionLine,
    'deployment="pod.deployment"',
    { deployment: '{"ref":"foobar", "params": [1,2,3,"string_value"]}' },
  ],
  ['boolean field', {}, jsonExpressionLine, 'bool="bool_field"', { bool: 'false' }],
  ['label override', { uuid: 'bar' }, jsonExpressionLine, 'uuid="pod.uuid"', { uuid_extracted: 'foo' }],
  [
    'nested escaped object',
    { foo: 'bar' },
    String.raw`{"app":"{ \"key\": \"value\", \"key2\":\"value2\"}"}`,
    'app="app"',
    { app: '{ "key": "value", "key2":"value2"}' },
  ],
  [
    'field with escaped value inside the json string',
    { foo: 'bar' },
    String.raw`{"app":"{\"name\":\"great \\\"loki\\\"\"}"}`,
    'app="app"',
    { app: String.raw`{"name":"great \"loki\""}` },
  ],
  ['duplicate field name takes first value', { foo: 'bar' }, '{"app":"foo","app":"duplicate"}', 'app="app"', { app: 'foo' }],
  ['duplicate conflict with structured metadata', {}, jsonExpressionLine, 'app="app"', { app_extracted: 'foo' }, { app: 'app_sm' }],
];

/** Loki's Test_regexpParser_Parse: [case, stream labels, line, regular expression, parsed labels, structured metadata]. */
const regexpCases: [string, Record<string, string>, string, string, Record<string, string>, Record<string, string>?][] = [
  ['no matches', { app: 'foo' }, 'blah', '(?P<foo>foo|bar)buzz', {}],
  ['double matches', { app: 'bar' }, 'matchebuzz barbuzz', '(?P<foo>.*)buzz', { foo: 'matchebuzz bar' }],
  ['duplicate labels', { bar: 'foo' }, 'barbuzz', '(?P<bar>bar)buzz', { bar_extracted: 'bar' }],
  [
    'multiple labels extracted',
    { app: 'foo' },
    'status=200,latency=500ms',
    String.raw`status=(?P<status>\w+),latency=(?P<latency>\w+)(ms|ns)`,
    { status: '200', latency: '500' },
  ],
  [
    'duplicate conflict with structured metadata',
    {},
    'status=200,latency=500ms',
    String.raw`status=(?P<status>\w+),latency=(?P<latency>\w+)(ms|ns)`,
    { status_extracted: '200', latency: '500' },
    { status: '400' },
  ],
];

/** Loki's TestLineFormatter_Format: [case, logfmt line giving the labels, template, expected line]. */
const templateCases: [string, string, string, string][] = [
  ['count', 'foo="abc abc abc" bar=blop', '{{.foo | count "abc" }}', '3'],
  ['count regex', 'foo="abc abc abc" bar=blop', '{{.foo | count "a|b|c" }}', '9'],
  ['Replace', 'foo=blip bar=blop', 'foo{{.foo}}buzz{{ Replace .bar "blop" "bar" -1 }}', 'fooblipbuzzbar'],
  [
    'trim',
    'foo="  blip " bar=blop',
    '{{.foo | trim }} {{ .bar  | trimAll "op" }} {{ .bar  | trimPrefix "b" }} {{ .bar  | trimSuffix "p" }}',
    'blip bl lop blo',
  ],
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
  [
    'urldecode',
    'foo=%2Floki%2Fapi%3Fquery%3Dsum%28x%29+y',
    '{{.foo | urldecode }} {{ urldecode .foo }}',
    '/loki/api?query=sum(x) y /loki/api?query=sum(x) y',
  ],
  // Boolean functions under if, Go's template builtins and sprig's dates (fmt_test.go's "contains" … "now", "default", "timestamp").
  ['contains', 'foo=BLIp bar=blop', '{{ if  .foo | contains "p"}}yes{{end}}-{{ if  .foo | contains "z"}}no{{end}}', 'yes-'],
  ['hasPrefix', 'foo=BLIp bar=blop', '{{ if  .foo | hasPrefix "BL" }}yes{{end}}-{{ if  .foo | hasPrefix "p"}}no{{end}}', 'yes-'],
  ['hasSuffix', 'foo=BLIp bar=blop', '{{ if  .foo | hasSuffix "Ip" }}yes{{end}}-{{ if  .foo | hasSuffix "pw"}}no{{end}}', 'yes-'],
  ['float64 int add', 'foo=2.5', '{{ "2.5" | float64 | int | add 10}}', '12'],
  ['datetime', 'foo=1', '{{ sub (unixEpoch (toDate "2006-01-02" "2021-11-02")) (unixEpoch (toDate "2006-01-02" "2021-11-01")) }}', '86400'],
  ['dateformat', 'foo=1', '{{ date "2006-01-02" (toDate "2006-01-02" "2021-11-02") }}', '2021-11-02'],
  ['now', 'foo=1', '{{ div (unixEpoch now) (unixEpoch now) }}', '1'],
  ['default', 'foo=blip bar=""', '{{.foo | default "-" }}{{.bar | default "-"}}{{.unknown | default "-"}}', 'blip--'],
  // Loki's fixed 2022-06-27 timestamp is outside the push window: the entry's own push time (second 1) instead.
  [
    'timestamp',
    'bar=2',
    '{{ __timestamp__ | date "2006-01-02" }} bar {{ .bar }}',
    `${new Date((baseS + 1) * 1000).toISOString().slice(0, 10)} bar 2`,
  ],
];

/**
 * The examples of Loki's docs/sources/query/template_functions.md, with the output the docs give (printf) or Go's
 * text/template gives (if/else, and/or, eq, fromJson, range; `__timestamp__` prints as Go's time.Time String()).
 */
const templateDocCases: [string, string, string, string][] = [
  ['and', 'err=none', '{{ if and (contains "he" "hello") (contains "llo" "hello") }} yes {{end}}', ' yes '],
  ['or', 'err=none', '{{ if or (contains "he" "hello") (contains "xyz" "hello") }} yes {{end}}', ' yes '],
  ['else if', 'err=none', '{{ if contains "ErrTimeout" .err }} timeout {{else if contains "he" "hello"}} yes {{else}} no {{end}}', ' yes '],
  ['else', 'err=ErrTimeout', '{{ if contains "ErrTimeout" .err }} timeout {{else}} no {{end}}', ' timeout '],
  ['eq', 'err=ErrTimeout', '{{ if eq "ErrTimeout" .err }} timeout {{end}}{{ if eq "hello" "hello" }} yes {{end}}', ' timeout  yes '],
  ['printf %s', 'remote_addr=129.168.1.1', '{{ printf "The IP address was %s" .remote_addr }}', 'The IP address was 129.168.1.1'],
  [
    'printf width and precision',
    'request_uri=/id/609259548/hpr.html request_method=GET',
    '{{ printf "%-40.40s" .request_uri}} {{printf "%-5.5s" .request_method}}',
    '/id/609259548/hpr.html                   GET  ',
  ],
  ['fromJson', 'foo=1', '{{fromJson "{\\"foo\\": 55}"}}', 'map[foo:55]'],
  [
    'range over fromJson',
    'queries="[{\\"query\\":\\"up\\"},{\\"query\\":\\"rate(x[1m])\\"}]"',
    '{{ range $q := fromJson .queries }} {{ $q.query }} {{ end }}',
    ' up  rate(x[1m]) ',
  ],
  ['unixToTime and date', 'from=1679577215', 'from="{{date "2006-01-02" (unixToTime .from)}}"', 'from="2023-03-23"'],
  [
    '__timestamp__',
    'foo=1',
    '{{ __timestamp__ }}',
    `${new Date((baseS + 1) * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`,
  ],
  ['trim markers and with', 'foo=blip', '{{- with .foo }} [{{ . }}] {{- else }}none{{ end -}} !', ' [blip]!'],
];

/**
 * The line of Loki's TestLogfmtExpressionParser, its own `ts` as Loki has it: a Loki-pushed entry keeps its pushed
 * timestamp whatever the line says (the line's time goes to meshlog_line_time), so the case is found with ingest parsing on too.
 */
const logfmtExpressionTs = '2021-02-12T19:18:10.037940878Z';
const logfmtExpressionLine = `app=foo level=error spaces="value with ÜFT8👌" ts=${logfmtExpressionTs}`;

/**
 * Loki's TestLogfmtExpressionParser: [case, stream labels, `| logfmt` parameters, parsed labels, structured metadata].
 * "expression matching nothing" is left out: its expected label is empty, which is no label in an API answer.
 */
const logfmtExpressionCases: [string, Record<string, string>, string, Record<string, string>, Record<string, string>?][] = [
  ['single field', {}, 'app="app"', { app: 'foo' }],
  ['multiple fields', {}, 'app="app", level="level", ts="ts"', { app: 'foo', level: 'error', ts: logfmtExpressionTs }],
  ['label renaming', {}, 'test="level"', { test: 'error' }],
  [
    'multiple fields with label renaming',
    {},
    'app="app", lvl="level", timestamp="ts"',
    { app: 'foo', lvl: 'error', timestamp: logfmtExpressionTs },
  ],
  ['value with spaces and ÜFT8👌', {}, 'spaces="spaces"', { spaces: 'value with ÜFT8👌' }],
  ['double property logfmt', { ap: 'bar' }, 'app="app"', { app: 'foo' }],
  ['label override', { app: 'bar' }, 'app="app"', { app_extracted: 'foo' }],
  ['label override 2', { level: 'debug' }, 'lvl="level"', { lvl: 'error' }],
  ['structured metadata conflict', {}, 'app="app"', { app_extracted: 'foo' }, { app: 'foo_sm' }],
];

/**
 * Loki's Test_unpackParser_Parse: [case, stream labels, line, parsed labels, line after unpack, structured metadata].
 * Left out: "empty line" (the push API refuses an empty line) and "wrong json with hints" (an internal parser hint).
 */
const unpackCases: [string, Record<string, string>, string, Record<string, string>, string, Record<string, string>?][] = [
  [
    'should extract only map[string]string',
    { cluster: 'us-central1' },
    '{"bar":1,"app":"foo","namespace":"prod","_entry":"some message","pod":{"uid":"1"}}',
    { app: 'foo', namespace: 'prod' },
    'some message',
  ],
  [
    'wrong json',
    {},
    '"app":"foo","namespace":"prod","_entry":"some message","pod":{"uid":"1"}',
    { __error__: 'JSONParserErr', __error_details__: 'expecting json object(6), but it is not' },
    '"app":"foo","namespace":"prod","_entry":"some message","pod":{"uid":"1"}',
  ],
  [
    'not a map',
    { cluster: 'us-central1' },
    '["foo","bar"]',
    { __error__: 'JSONParserErr', __error_details__: 'expecting json object(6), but it is not' },
    '["foo","bar"]',
  ],
  [
    'should rename',
    { cluster: 'us-central1', app: 'bar' },
    '{"bar":1,"app":"foo","namespace":"prod","_entry":"some message","pod":{"uid":"1"}}',
    { app_extracted: 'foo', namespace: 'prod' },
    'some message',
  ],
  [
    'should not change log and labels if no packed entry',
    { app: 'bar', cluster: 'us-central1' },
    '{"bar":1,"app":"foo","namespace":"prod","pod":{"uid":"1"}}',
    {},
    '{"bar":1,"app":"foo","namespace":"prod","pod":{"uid":"1"}}',
  ],
  [
    'non json with escaped quotes',
    { app: 'bar', cluster: 'us-central1' },
    String.raw`{"_entry":"I0303 17:49:45.976518    1526 kubelet_getters.go:178] \"Pod status updated\" pod=\"openshift-etcd/etcd-ip-10-0-150-50.us-east-2.compute.internal\" status=Running"}`,
    {},
    'I0303 17:49:45.976518    1526 kubelet_getters.go:178] "Pod status updated" pod="openshift-etcd/etcd-ip-10-0-150-50.us-east-2.compute.internal" status=Running',
  ],
  [
    'invalid key names',
    { foo: 'bar' },
    '{"foo.bar":"10ms","test-dash":"foo","_entry":"some message"}',
    { foo_bar: '10ms', test_dash: 'foo' },
    'some message',
  ],
  [
    'duplicate conflict with structured metadata',
    {},
    '{"app":"foo","namespace":"prod","_entry":"some message"}',
    { app_extracted: 'foo', namespace: 'prod' },
    'some message',
    { app: 'foo_sm' },
  ],
];

/** The line and timestamp (seconds after baseS) Loki's Test_labelsFormatter_Format formats with. */
const labelFormatLine = 'test line';
const labelFormatSecond = 3;

/**
 * Loki's Test_labelsFormatter_Format: [case, stream labels, `| label_format` parameters, labels after it].
 * The "timestamp" cases format the line's own time (Loki's fixed 2022 time is outside the push window);
 * unixToTime answers Go's time.String() in the server's zone, UTC.
 */
const labelFormatCases: [string, Record<string, string>, string, Record<string, string>][] = [
  ['rename label', { foo: 'blip', bar: 'blop' }, 'baz=foo', { bar: 'blop', baz: 'blip' }],
  ['rename and overwrite existing label', { foo: 'blip', bar: 'blop' }, 'bar=foo', { bar: 'blip' }],
  ['combined with template', { foo: 'blip', bar: 'blop' }, 'foo="{{.foo}} and {{.bar}}"', { foo: 'blip and blop', bar: 'blop' }],
  [
    'combined with template and rename',
    { foo: 'blip', bar: 'blop' },
    'blip="{{.foo}} and {{.bar}}", bar=foo',
    { blip: 'blip and blop', bar: 'blip' },
  ],
  ['fn', { foo: 'blip', bar: 'blop' }, 'blip="{{.foo | ToUpper }} and {{.bar}}", bar=foo', { blip: 'BLIP and blop', bar: 'blip' }],
  ['math', { status: '200' }, 'status="{{div .status 100 }}"', { status: '2' }],
  ['default', { bar: 'blop' }, 'blip=`{{.foo | default "-" }} and {{.bar}}`', { blip: '- and blop', bar: 'blop' }],
  [
    'template error',
    { foo: 'blip', bar: 'blop' },
    'bar=`{{replace "test" .foo}}`',
    {
      foo: 'blip',
      bar: 'blop',
      __error__: 'TemplateFormatErr',
      __error_details__: 'template: label:1:2: executing "label" at <replace>: wrong number of args for replace: want 3 got 2',
    },
  ],
  ['line', { foo: 'blip', bar: 'blop' }, 'line="{{ __line__ }}"', { foo: 'blip', bar: 'blop', line: 'test line' }],
  [
    'timestamp_unix',
    { foo: 'blip', bar: 'blop' },
    'ts="{{ __timestamp__ | unixEpoch }}"',
    { foo: 'blip', bar: 'blop', ts: String(baseS + labelFormatSecond) },
  ],
  [
    'timestamp',
    { foo: 'blip', bar: 'blop' },
    'ts="{{ __timestamp__ | date \\"2006-01-02\\" }}"',
    { foo: 'blip', bar: 'blop', ts: new Date((baseS + labelFormatSecond) * 1000).toISOString().slice(0, 10) },
  ],
  ['count', { foo: 'blip', bar: 'blop' }, 'count=`{{ __line__ | count "test" }}`', { foo: 'blip', bar: 'blop', count: '1' }],
  ['count regex no matches', {}, 'count=`{{ __line__ | count "notmatching.*" }}`', { count: '0' }],
  ['bytes 1', { foo: '3 kB', bar: 'blop' }, 'bar="{{ .foo | bytes }}"', { foo: '3 kB', bar: '3000' }],
  ['bytes 2', { foo: '3MB', bar: 'blop' }, 'bar="{{ .foo | bytes }}"', { foo: '3MB', bar: '3e+06' }],
  ['duration 1', { foo: '3ms', bar: 'blop' }, 'bar="{{ .foo | duration }}"', { foo: '3ms', bar: '0.003' }],
  ['duration 2', { foo: '3m10s', bar: 'blop' }, 'bar="{{ .foo | duration }}"', { foo: '3m10s', bar: '190' }],
  [
    'unixEpochMillis',
    { foo: '2023-03-10T01:32:40.340485723Z', bar: 'blop' },
    'bar=`{{ .foo | toDateInZone "2006-01-02T15:04:05.999999999Z" "UTC" | unixEpochMillis }}`',
    { foo: '2023-03-10T01:32:40.340485723Z', bar: '1678411960340' },
  ],
  [
    'unixEpochNanos',
    { foo: '2023-03-10T01:32:40.340485723Z', bar: 'blop' },
    'bar=`{{ .foo | toDateInZone "2006-01-02T15:04:05.999999999Z" "UTC" | unixEpochNanos }}`',
    { foo: '2023-03-10T01:32:40.340485723Z', bar: '1678411960340485723' },
  ],
  [
    'base64encode',
    { foo: "i'm a string, encode me!", bar: 'blop' },
    'bar="{{ .foo | b64enc }}"',
    { foo: "i'm a string, encode me!", bar: 'aSdtIGEgc3RyaW5nLCBlbmNvZGUgbWUh' },
  ],
  [
    'base64decode',
    { foo: 'aSdtIGEgc3RyaW5nLCBlbmNvZGUgbWUh', bar: 'blop' },
    'bar="{{ .foo | b64dec }}"',
    { foo: 'aSdtIGEgc3RyaW5nLCBlbmNvZGUgbWUh', bar: "i'm a string, encode me!" },
  ],
  ['base64decode missing padding', { foo: 'Zm9vYmE', bar: 'blop' }, 'bar="{{ .foo | b64dec }}"', { foo: 'Zm9vYmE', bar: 'fooba' }],
  ['unixToTime days', { bar: '19503' }, 'foo="{{ .bar | unixToTime }}"', { bar: '19503', foo: '2023-05-26 00:00:00 +0000 UTC' }],
  [
    'unixToTime seconds',
    { bar: '1679577215' },
    'foo="{{ .bar | unixToTime }}"',
    { bar: '1679577215', foo: '2023-03-23 13:13:35 +0000 UTC' },
  ],
  [
    'unixToTime milliseconds',
    { bar: '1257894000000' },
    'foo="{{ .bar | unixToTime }}"',
    { bar: '1257894000000', foo: '2009-11-10 23:00:00 +0000 UTC' },
  ],
  [
    'unixToTime microseconds',
    { bar: '1673798889902000' },
    'foo="{{ .bar | unixToTime }}"',
    { bar: '1673798889902000', foo: '2023-01-15 16:08:09.902 +0000 UTC' },
  ],
  [
    'unixToTime nanoseconds',
    { bar: '1000000000000000000' },
    'foo="{{ .bar | unixToTime }}"',
    { bar: '1000000000000000000', foo: '2001-09-09 01:46:40 +0000 UTC' },
  ],
];

/**
 * Loki's label_filter_test.go (TestBinary_Filter, TestBytes_Filter, TestErrorFiltering, TestStringLabelFilter):
 * [case, logfmt line giving the labels, stages after the selector, whether the line passes, parsed labels when it does].
 * Parsed labels are left unchecked (undefined) where Loki's case holds an empty label, which is no label in an API answer.
 */
const labelFilterCases: [string, string, string, boolean, Record<string, string>?][] = [
  ['numeric and duration', 'foo=5 bar=1s', '| logfmt | foo==5 and bar==1s', true, { foo: '5', bar: '1s' }],
  ['numeric and bytes', 'foo=5 bar=42kB', '| logfmt | foo==5 and bar==42000B', true, { foo: '5', bar: '42kB' }],
  ['numeric mismatch', 'foo=6 bar=1s', '| logfmt | foo==5 and bar==1s', false],
  ['duration mismatch', 'foo=5 bar=2s', '| logfmt | foo==5 and bar==1s', false],
  ['string and duration', 'foo=5 bar=1s', '| logfmt | foo="5" and bar==1s', true, { foo: '5', bar: '1s' }],
  ['string mismatch', 'foo=6 bar=1s', '| logfmt | foo="5" and bar==1s', false],
  [
    'or inside and',
    'duration=2s status=200 method=GET',
    '| logfmt | (duration>1s or status!=200) and method!="POST"',
    true,
    { duration: '2s', status: '200', method: 'GET' },
  ],
  ['or inside and, method POST', 'duration=2s status=200 method=POST', '| logfmt | (duration>1s or status!=200) and method!="POST"', false],
  [
    'or inside and, status 500 POST',
    'duration=2s status=500 method=POST',
    '| logfmt | (duration>1s or status!=200) and method!="POST"',
    false,
  ],
  [
    'or inside and, neither side',
    'duration=2s status=200 method=POST',
    '| logfmt | (duration>3s or status!=200) and method!="POST"',
    false,
  ],
  [
    'bad duration',
    'duration=2weeeeee',
    '| logfmt | duration>3s',
    true,
    { duration: '2weeeeee', __error__: 'LabelFilterErr', __error_details__: 'time: unknown unit "weeeeee" in duration "2weeeeee"' },
  ],
  [
    'bad bytes',
    'bytes=2qb',
    '| logfmt | bytes>100B',
    true,
    { bytes: '2qb', __error__: 'LabelFilterErr', __error_details__: 'unhandled size name: qb' },
  ],
  [
    'bad number',
    'number=not_a_number',
    '| logfmt | number>100',
    true,
    {
      number: 'not_a_number',
      __error__: 'LabelFilterErr',
      __error_details__: 'strconv.ParseFloat: parsing "not_a_number": invalid syntax',
    },
  ],
  ...(
    [
      ['42B', 42],
      ['42kB', 42e3],
      ['42MB', 42e6],
      ['42GB', 42e9],
      ['42TB', 42e12],
      ['42PB', 42e15],
      ['42KiB', 42 * 2 ** 10],
      ['42MiB', 42 * 2 ** 20],
      ['42GiB', 42 * 2 ** 30],
      ['42TiB', 42 * 2 ** 40],
      ['42PiB', 42 * 2 ** 50],
    ] as const
  ).map(([value, bytes]): [string, string, string, boolean, Record<string, string>] => [
    `bytes ${value}`,
    `bar=${value}`,
    `| logfmt | bar==${BigInt(bytes)}B`,
    true,
    { bar: value },
  ]),
  ['error filtered by !=', 'status=200 method=POST', '| json | __error__!="JSONParserErr"', false],
  ['error filtered by !~ .+', 'status=200 method=POST', '| json | __error__!~".+"', false],
  ['no error passes !~ .+', 'status=200 method=POST', '| logfmt | __error__!~".+"', true, { status: '200', method: 'POST' }],
  ['no error passes !=', 'status=200 method=POST', '| logfmt | __error__!="JSONParserErr"', true, { status: '200', method: 'POST' }],
  ['!="0" without the label', 'msg=hello', '| logfmt | subqueries!="0"', true, { msg: 'hello' }],
  ['!="0" with the label', 'msg=hello subqueries=2', '| logfmt | subqueries!="0"', true, { msg: 'hello', subqueries: '2' }],
  ['!~"0" without the label', 'msg=hello', '| logfmt | subqueries!~"0"', true, { msg: 'hello' }],
  ['!~"0" with the label', 'msg=hello subqueries=2', '| logfmt | subqueries!~"0"', true, { msg: 'hello', subqueries: '2' }],
  ['="" without the label', 'msg=hello', '| logfmt | subqueries=""', true, { msg: 'hello' }],
  ['="" with an empty label', 'msg=hello subqueries=""', '| logfmt | subqueries=""', true],
  ['=~"" without the label', 'msg=hello', '| logfmt | subqueries=~""', true, { msg: 'hello' }],
  ['=~"" with an empty label', 'msg=hello subqueries=""', '| logfmt | subqueries=~""', true],
  ['=~"(?i)hello" on HELLO', 'msg=HELLO subqueries=""', '| logfmt | msg=~"(?i)hello"', true],
  ['=~"(?i)hello" on hello', 'msg=hello subqueries=""', '| logfmt | msg=~"(?i)hello"', true],
  ['=~"(?i)HELLO" on HELLO', 'msg=HELLO subqueries=""', '| logfmt | msg=~"(?i)HELLO"', true],
  ['=~"(?i)HELLO" on hello', 'msg=hello subqueries=""', '| logfmt | msg=~"(?i)HELLO"', true],
];

/**
 * Loki's Test_containsLower (the case-insensitive line filter `|~ "(?i)…"`): [case, line, substring, whether the line passes].
 * Left out: the empty-line cases (the push API refuses an empty line) and invalid UTF-8 (a JSON push cannot carry it).
 */
const longLine =
  '2023-06-14T12:34:56.789Z INFO  [service_name] This is a much longer log line with timestamps, levels and other information that typically appears in production logs. RequestID=123456 UserID=789 Action=GetUser Duration=123ms Status=200';
const unicodeLine = (bracket: string) =>
  `2023-06-14T12:34:56.789Z 🚀${bracket} Длинное сообщение с Unicode символами 统一码 が大好き! エラー分析: システムは正常に動作しています。RequestID=123456 状態=良好 Résultat=Succès ß=γ 🎯 τέλος`;
const containsLowerCases: [string, string, string, boolean][] = [
  ['short_line_no_match', 'this is a short log line', 'missing', false],
  ['short_line_no_match_special_chars', 'this contains a \\ character', '|', false],
  ['short_line_no_match_special_chars_match', 'this contains a | character', '|', true],
  ['short_line_with_match', 'this is a shorT log line', 'short', true],
  ['long_line_no_match', longLine, 'nonexistent', false],
  ['long_line_match_start', longLine, '2023', true],
  ['long_line_match_middle', longLine.replace('levels', 'leVelS'), 'levels', true],
  ['long_line_match_end', longLine, 'status', true],
  ['short_unicode_line_no_match', '🌟 Unicode line with emojis 🎉 and special chars ñ é ß', 'missing', false],
  ['short_unicode_line_with_match', '🌟 Unicode line with eMojiS 🎉 and special chars ñ é ß', 'emojis', true],
  ['long_unicode_line_no_match', unicodeLine(' [микросервис]'), 'nonexistent', false],
  ['long_unicode_line_match_start', unicodeLine('[МИКРОСервис]'), 'микросервис', true],
  ['long_unicode_line_match_middle', unicodeLine(' [микросервис]'), 'unicode', true],
  ['long_unicode_line_match_end', unicodeLine(' [микросервис]'), 'τέλος', true],
  ['utf8_case_insensitive_match_middle', 'ΣΑΣ ΓΕΙΑ ΚΟΣΜΕ', 'γεια', true],
  ['utf8_case_insensitive_no_match', 'ΣΑΣ ΚΟΣΜΕ', 'γεια', false],
  ['empty_substr', 'any line', '', true],
  ['substr_longer_than_line', 'short', 'longer than line', false],
  ['partial_utf8_match', 'Hello 世界', '世', true],
];

const caseLabel = (kind: string, index: number) => ({ service_name: 'tables', case: `${kind}-${index}` });

function dataSet(): Line[] {
  const lines: Line[] = [];
  logfmtCases.forEach(([, labels, line, , , metadata], i) =>
    lines.push({ labels: { ...labels, ...caseLabel('logfmt', i) }, line, metadata }),
  );
  jsonCases.forEach(([, labels, line], i) => lines.push({ labels: { ...labels, ...caseLabel('json', i) }, line }));
  regexpCases.forEach(([, labels, line, , , metadata], i) =>
    lines.push({ labels: { ...labels, ...caseLabel('regexp', i) }, line, metadata }),
  );
  jsonExpressionCases.forEach(([, labels, line, , , metadata], i) =>
    lines.push({ labels: { ...labels, ...caseLabel('json-expression', i) }, line, metadata }),
  );
  templateCases.forEach(([, line], i) => lines.push({ labels: caseLabel('template', i), line }));
  templateDocCases.forEach(([, line], i) => lines.push({ labels: caseLabel('template-doc', i), line }));
  logfmtExpressionCases.forEach(([, labels, , , metadata], i) =>
    lines.push({ labels: { ...labels, ...caseLabel('logfmt-expression', i) }, line: logfmtExpressionLine, metadata }),
  );
  unpackCases.forEach(([, labels, line, , , metadata], i) =>
    lines.push({ labels: { ...labels, ...caseLabel('unpack', i) }, line, metadata }),
  );
  labelFormatCases.forEach(([, labels], i) =>
    lines.push({ labels: { ...labels, ...caseLabel('label-format', i) }, line: labelFormatLine, second: labelFormatSecond }),
  );
  labelFilterCases.forEach(([, line], i) => lines.push({ labels: caseLabel('label-filter', i), line }));
  containsLowerCases.forEach(([, line], i) => lines.push({ labels: caseLabel('contains-lower', i), line }));
  // TestLogfmtConsistentPrecedence: one line with structured metadata app=loki, the same line without.
  const precedenceLine = `app=lowkey level=error ts=${logfmtExpressionTs} msg="hello world"`;
  lines.push({
    labels: { service_name: 'tables', case: 'precedence', foo: 'bar' },
    line: precedenceLine,
    metadata: { app: 'loki' },
    second: 1,
  });
  lines.push({ labels: { service_name: 'tables', case: 'precedence', foo: 'baz' }, line: precedenceLine, second: 2 });
  for (const app of ['foo', 'bar']) {
    for (const ns of rangeVectorSamplesNs)
      lines.push({ labels: { service_name: 'tables', case: 'range-vector', app }, line: 'sample', ns });
    for (const second of instantSamplesSeconds)
      lines.push({ labels: { service_name: 'tables', case: 'instant-range', app }, line: 'sample', second });
  }
  // engine_test.go TestEngine_RangeQuery: the line of second i is "i" (pushed for 0 s…39 s).
  for (let second = 0; second < 40; second++)
    for (const app of ['foo', 'food'])
      lines.push({ labels: { service_name: 'tables', case: 'identity', app }, line: String(second), second });
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
      streams: lines.map((line) => ({
        stream: line.labels,
        values: [[line.ns?.toString() ?? at(line.second ?? 1), line.line, ...(line.metadata ? [line.metadata] : [])]],
      })),
    }),
  });
  assert.equal(response.status, 204, await response.text());
}

async function get(meshlog: RunningMeshlog, path: string, params: Record<string, string>, categorize = true): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}?${new URLSearchParams(params)}`, {
    headers: {
      authorization: `Bearer ${meshlog.token}`,
      'x-scope-orgid': tenant,
      ...(categorize ? { 'x-loki-response-encoding-flags': 'categorize-labels' } : {}),
    },
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
                    {
                      key: 'user',
                      value: {
                        kvlistValue: {
                          values: [
                            { key: 'id', value: { stringValue: 'u-17' } },
                            { key: 'tier', value: { stringValue: 'gold' } },
                          ],
                        },
                      },
                    },
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

test(`line_format: the ${templateDocCases.length} examples of Loki's template docs (if/else, and/or, eq, printf, fromJson with range, dates)`, async () => {
  await eachCase(templateDocCases, async (meshlog, [name, , template, expected], index) => {
    const { line } = await onlyEntry(meshlog, `{case="template-doc-${index}"} | logfmt | line_format ${JSON.stringify(template)}`);
    assert.equal(line, expected, name);
  });
});

test(`logfmt with parameters: Loki's ${logfmtExpressionCases.length} expression parser cases, with ingest parsing on and off`, async () => {
  await eachCase(logfmtExpressionCases, async (meshlog, [name, , params, expected], index) => {
    assert.deepEqual((await onlyEntry(meshlog, `{case="logfmt-expression-${index}"} | logfmt ${params}`)).parsed, expected, name);
  });
});

test(`unpack: Loki's ${unpackCases.length} unpack parser cases (labels and the packed line), with ingest parsing on and off`, async () => {
  await eachCase(unpackCases, async (meshlog, [name, , , expected, expectedLine], index) => {
    const { line, parsed } = await onlyEntry(meshlog, `{case="unpack-${index}"} | unpack`);
    assert.deepEqual({ line, parsed }, { line: expectedLine, parsed: expected }, name);
  });
});

test(`label_format: Loki's ${labelFormatCases.length} label formatter cases (rename, templates, bytes, duration, dates), with ingest parsing on and off`, async () => {
  await eachCase(labelFormatCases, async (meshlog, [name, , params, expected], index) => {
    const body = await get(
      meshlog,
      '/loki/api/v1/query_range',
      { query: `{case="label-format-${index}"} | label_format ${params}`, start: at(0), end: at(100) },
      false,
    );
    assert.equal(body.data.result.length, 1, `${name}: ${JSON.stringify(body.data.result)}`);
    // The case's own selector labels are not part of Loki's table, nor meshlog's ingest-parsing metadata (meshlog_parse_status).
    const labels = Object.fromEntries(
      Object.entries(body.data.result[0].stream).filter(
        ([label]) => label !== 'case' && label !== 'service_name' && !label.startsWith('meshlog_'),
      ),
    );
    assert.deepEqual(labels, expected, name);
  });
});

test(`label filters: Loki's ${labelFilterCases.length} label filter cases (numeric, duration, bytes, and/or, errors, absent labels), with ingest parsing on and off`, async () => {
  await eachCase(labelFilterCases, async (meshlog, [name, , stages, passes, expected], index) => {
    const query = `{case="label-filter-${index}"} ${stages}`;
    const body = await get(meshlog, '/loki/api/v1/query_range', { query, start: at(0), end: at(100) });
    const entries = body.data.result.flatMap(
      (stream: { values: [string, string, { parsed?: Record<string, string> }][] }) => stream.values,
    );
    assert.equal(entries.length, passes ? 1 : 0, `${name}: ${query} ${JSON.stringify(body.data.result)}`);
    if (passes && expected) assert.deepEqual(entries[0][2].parsed ?? {}, expected, `${name}: ${query}`);
  });
});

/** A substring as a regular expression matching it literally. */
const literal = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

test(`case-insensitive line filter: Loki's ${containsLowerCases.length} containsLower cases, with ingest parsing on and off`, async () => {
  await eachCase(containsLowerCases, async (meshlog, [name, , substring, passes], index) => {
    const query = `{case="contains-lower-${index}"} |~ ${JSON.stringify(`(?i)${literal(substring)}`)}`;
    const body = await get(meshlog, '/loki/api/v1/query_range', { query, start: at(0), end: at(100) });
    const entries = body.data.result.flatMap((stream: { values: unknown[] }) => stream.values);
    assert.equal(entries.length, passes ? 1 : 0, `${name}: ${query}`);
  });
});

test(`count_over_time through query_range: Loki's ${rangeVectorCases.length} range vector iterator cases (overlapping, gapped, offset windows), with ingest parsing on and off`, async () => {
  await eachCase(rangeVectorCases, async (meshlog, [range, step, offset, start, end, expected]) => {
    const query = `count_over_time({case="range-vector"}[${range}]${offset})`;
    const body = await get(meshlog, '/loki/api/v1/query_range', { query, start: at(start), end: at(end), step }, false);
    const series = body.data.result
      .map((s: { metric: { app: string }; values: [number, string][] }) => ({
        app: s.metric.app,
        values: s.values.map(([t, v]) => [t - baseS, v]),
      }))
      .sort((a: { app: string }, b: { app: string }) => a.app.localeCompare(b.app));
    assert.deepEqual(
      series,
      [
        { app: 'bar', values: expected },
        { app: 'foo', values: expected },
      ],
      `${query} step ${step} from ${start} to ${end}`,
    );
  });
});

test(`count_over_time at an instant: Loki's ${instantRangeCases.length} instant range vector cases (the window is open at its start, closed at its end)`, async () => {
  await eachCase(instantRangeCases, async (meshlog, [range, second, expected]) => {
    const query = `count_over_time({case="instant-range"}[${range}])`;
    const body = await get(meshlog, '/loki/api/v1/query', { query, time: at(second) }, false);
    const counts = body.data.result.map((s: { metric: { app: string }; value: [number, string] }) => [s.metric.app, s.value[1]]).sort();
    assert.deepEqual(
      counts,
      expected === undefined
        ? []
        : [
            ['bar', expected],
            ['foo', expected],
          ],
      `${query} at ${second} s`,
    );
  });
});

test("log range queries: Loki's engine cases, the first 10 lines forward and one line per 2 s interval", async () => {
  await eachCase([undefined], async (meshlog) => {
    const lines = async (app: string, extra: Record<string, string>) => {
      const body = await get(
        meshlog,
        '/loki/api/v1/query_range',
        { query: `{case="identity", app="${app}"}`, start: at(0), end: at(30), limit: '10', direction: 'forward', ...extra },
        false,
      );
      return body.data.result.flatMap((s: { values: [string, string][] }) => s.values.map(([, line]) => line));
    };
    assert.deepEqual(await lines('foo', {}), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], '{app="foo"} forward, limit 10');
    assert.deepEqual(
      await lines('food', { interval: '2s' }),
      ['0', '2', '4', '6', '8', '10', '12', '14', '16', '18'],
      '{app="food"} forward, interval 2s, limit 10',
    );
  });
});

test("logfmt precedence: Loki's TestLogfmtConsistentPrecedence, structured metadata kept and the parsed value _extracted whichever line comes first", async () => {
  await eachCase(['forward', 'backward'], async (meshlog, direction) => {
    const body = await get(meshlog, '/loki/api/v1/query_range', {
      query: '{case="precedence"} | logfmt --strict --keep-empty',
      start: at(0),
      end: at(100),
      direction,
    });
    const apps = body.data.result
      .map(
        (stream: {
          stream: { foo: string };
          values: [string, string, { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> }][];
        }) => {
          const [[, , categories]] = stream.values;
          return {
            foo: stream.stream.foo,
            metadataApp: categories.structuredMetadata?.app,
            parsedApp: categories.parsed?.app,
            parsedAppExtracted: categories.parsed?.app_extracted,
          };
        },
      )
      .sort((a: { foo: string }, b: { foo: string }) => a.foo.localeCompare(b.foo));
    assert.deepEqual(
      apps,
      [
        { foo: 'bar', metadataApp: 'loki', parsedApp: undefined, parsedAppExtracted: 'lowkey' },
        { foo: 'baz', metadataApp: undefined, parsedApp: 'lowkey', parsedAppExtracted: undefined },
      ],
      direction,
    );
  });
});

test("a line_format template failing on a line keeps the line and sets TemplateFormatErr with Go's message (it was a 500)", async () => {
  await eachCase([undefined], async (meshlog) => {
    const entry = await onlyEntry(meshlog, '{case="label-format-7"} | line_format `{{replace "test" .foo}}`');
    assert.deepEqual(entry, {
      line: 'test line',
      parsed: {
        __error__: 'TemplateFormatErr',
        __error_details__: 'template: line:1:2: executing "line" at <replace>: wrong number of args for replace: want 3 got 2',
      },
    });
  });
});

test("a template calling now with an argument sets TemplateFormatErr with Go's message, as Loki's template_error case", async () => {
  await eachCase([undefined], async (meshlog) => {
    const entry = await onlyEntry(meshlog, '{case="label-format-7"} | line_format `{{.foo | now}}`');
    assert.deepEqual(entry, {
      line: 'test line',
      parsed: {
        __error__: 'TemplateFormatErr',
        __error_details__: 'template: line:1:9: executing "line" at <now>: wrong number of args for now: want 0 got 1',
      },
    });
  });
});

test('a log query_range with an interval that is not a duration is refused with 400, as Loki', async () => {
  await eachCase([undefined], async (meshlog) => {
    const params = new URLSearchParams({ query: '{case="identity"}', start: at(0), end: at(30), interval: 'often' });
    const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?${params}`, {
      headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
    });
    assert.equal(response.status, 400, await response.text());
  });
});

test("rate_counter and rate over an unwrapped counter: Loki's engine test values (0.4833…, 0, 27, 0.5)", async () => {
  const cases: [string, string][] = [
    // 15 samples of 1 in (30 s, 60 s]: 15 / 30.
    ['rate({case="counter-const"} | logfmt | unwrap foo [30s])', '0.5'],
    // 15 samples in (30 s, 60 s]: t = 46…60, values 47…61; start extrapolated by half the 1 s spacing: 14 × 14.5/14 / 30.
    ['rate_counter({case="counter-inc"} | logfmt | unwrap foo [30s])', '0.4833333333333334'],
    ['rate_counter({case="counter-const"} | logfmt | unwrap foo [30s])', '0'],
    // SUM(47…61) = 810; 810 / 30.
    ['rate({case="counter-inc"} | logfmt | unwrap foo [30s])', '27'],
  ];
  await eachCase(cases, async (meshlog, [query, expected]) => {
    const body = await get(meshlog, '/loki/api/v1/query', { query, time: at(60) }, false);
    assert.deepEqual(
      body.data.result.map((sample: { value: [number, string] }) => sample.value[1]),
      [expected],
      query,
    );
  });
});

test('| json and | logfmt give each key of the line once, the same labels whether ingest parsing ran or not', async () => {
  const results = [];
  for (const { meshlog } of servers) {
    const json = await get(meshlog, '/loki/api/v1/query_range', { query: '{case="once-json"} | json', start: at(0), end: at(100) }, false);
    const logfmt = await get(
      meshlog,
      '/loki/api/v1/query_range',
      { query: '{case="once-logfmt"} | logfmt', start: at(0), end: at(100) },
      false,
    );
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
  assert.equal(
    answers[0].line,
    '{"event":"order placed","user":{"id":"u-17","tier":"gold"},"items":3,"total":19.5,"paid":true,"tags":["a"],"order.id":9007199254740993}',
  );
  // order_id is left out of the comparison: the query engine's JSON parsing rounds integers past 2^53 (Loki keeps the text).
  const { order_id: orderId, ...rest } = answers[0].parsed;
  assert.ok(orderId !== undefined, 'order.id is a key | json gives');
  assert.deepEqual(rest, { event: 'order placed', user_id: 'u-17', user_tier: 'gold', items: '3', total: '19.5', paid: 'true' });
});
