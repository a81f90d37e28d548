import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Expr, LogQuery } from '../../../src/query/logql/ast.js';
import { compileBuckets, compileLogRows, completeTokens, containsPattern } from '../../../src/query/logql/compiler.js';
import { LogqlParseError } from '../../../src/query/logql/parseError.js';
import { formatLogql, prettyLogql } from '../../../src/query/logql/formatter.js';
import { parseLogql } from '../../../src/query/logql/parser.js';
import { compilePipeline, matchPattern, patternParts, type Entry } from '../../../src/query/logql/pipeline.js';
import { compileTemplate } from '../../../src/query/logql/lineTemplate.js';
import { parseLokiDuration, parseLokiTime } from '../../../src/query/lokiParams.js';

/** Queries that must parse, with a short rendering of what the tree must say. */
const valid: [string, (expr: Expr) => unknown, unknown][] = [
  ['{app="api"}', (e) => (e as LogQuery).selector, [{ name: 'app', op: '=', value: 'api' }]],
  ['{app!="api", env=~"prod|stg", team!~"a.*"}', (e) => (e as LogQuery).selector.map((m) => m.op), ['!=', '=~', '!~']],
  ['{ app = "api" }', (e) => (e as LogQuery).selector[0].value, 'api'],
  ['{app=`raw\\string`}', (e) => (e as LogQuery).selector[0].value, 'raw\\string'],
  ['{app="a\\"b\\n"}', (e) => (e as LogQuery).selector[0].value, 'a"b\n'],
  ['{app="api"} |= "error"', (e) => (e as LogQuery).stages, [{ kind: 'line_filter', op: '|=', values: ['error'] }]],
  ['{app="api"} != "debug"', (e) => (e as LogQuery).stages[0], { kind: 'line_filter', op: '!=', values: ['debug'] }],
  ['{app="api"} |~ "err(or)?"', (e) => (e as LogQuery).stages[0], { kind: 'line_filter', op: '|~', values: ['err(or)?'] }],
  ['{app="api"} !~ "health"', (e) => (e as LogQuery).stages[0], { kind: 'line_filter', op: '!~', values: ['health'] }],
  ['{app="api"} |= "a" or "b" or "c"', (e) => (e as LogQuery).stages[0], { kind: 'line_filter', op: '|=', values: ['a', 'b', 'c'] }],
  ['{app="api"} |= "a" |= "b" != "c"', (e) => (e as LogQuery).stages.length, 3],
  ['{app="api"} | json', (e) => (e as LogQuery).stages[0], { kind: 'json', params: [] }],
  [
    '{app="api"} | json status="response.code", first="items[0]"',
    (e) => (e as LogQuery).stages[0],
    {
      kind: 'json',
      params: [
        { label: 'status', expression: 'response.code' },
        { label: 'first', expression: 'items[0]' },
      ],
    },
  ],
  ['{app="api"} | json status', (e) => (e as LogQuery).stages[0], { kind: 'json', params: [{ label: 'status', expression: 'status' }] }],
  ['{app="api"} | logfmt', (e) => (e as LogQuery).stages[0], { kind: 'logfmt', params: [] }],
  [
    '{app="api"} | logfmt --strict --keep-empty msg, lvl="level"',
    (e) => (e as LogQuery).stages[0],
    {
      kind: 'logfmt',
      params: [
        { label: 'msg', expression: 'msg' },
        { label: 'lvl', expression: 'level' },
      ],
      strict: true,
      keepEmpty: true,
    },
  ],
  ['{app="api"} | pattern "<ip> - <_> [<ts>]"', (e) => (e as LogQuery).stages[0], { kind: 'pattern', expression: '<ip> - <_> [<ts>]' }],
  ['{app="api"} | regexp "(?P<method>\\\\w+) (?P<path>\\\\S+)"', (e) => (e as LogQuery).stages[0].kind, 'regexp'],
  ['{app="api"} | unpack', (e) => (e as LogQuery).stages[0], { kind: 'unpack' }],
  ['{app="api"} | decolorize', (e) => (e as LogQuery).stages[0], { kind: 'decolorize' }],
  ['{app="api"} | line_format "{{.msg}}"', (e) => (e as LogQuery).stages[0], { kind: 'line_format', template: '{{.msg}}' }],
  [
    '{app="api"} | label_format dst=src, x="{{.a}}-{{.b}}"',
    (e) => (e as LogQuery).stages[0],
    {
      kind: 'label_format',
      items: [
        { label: 'dst', source: 'src' },
        { label: 'x', template: '{{.a}}-{{.b}}' },
      ],
    },
  ],
  [
    '{app="api"} | drop a, b="x"',
    (e) => (e as LogQuery).stages[0],
    { kind: 'drop', items: [{ name: 'a' }, { name: 'b', matcher: { name: 'b', op: '=', value: 'x' } }] },
  ],
  ['{app="api"} | keep a, b', (e) => (e as LogQuery).stages[0], { kind: 'keep', items: [{ name: 'a' }, { name: 'b' }] }],
  [
    '{app="api"} | status="500"',
    (e) => (e as LogQuery).stages[0],
    { kind: 'label_filter', filter: { kind: 'match', matcher: { name: 'status', op: '=', value: '500' } } },
  ],
  [
    '{app="api"} | status >= 500',
    (e) => (e as LogQuery).stages[0],
    { kind: 'label_filter', filter: { kind: 'compare', name: 'status', op: '>=', value: 500, unit: 'number' } },
  ],
  ['{app="api"} | status == 200', (e) => ((e as LogQuery).stages[0] as { filter: { op: string } }).filter.op, '=='],
  ['{app="api"} | status = 200', (e) => ((e as LogQuery).stages[0] as { filter: { op: string } }).filter.op, '=='],
  ['{app="api"} | status != 200', (e) => ((e as LogQuery).stages[0] as { filter: { kind: string } }).filter.kind, 'compare'],
  [
    '{app="api"} | latency > 250ms',
    (e) => (e as LogQuery).stages[0],
    { kind: 'label_filter', filter: { kind: 'compare', name: 'latency', op: '>', value: 0.25, unit: 'duration' } },
  ],
  ['{app="api"} | latency <= 1h30m', (e) => ((e as LogQuery).stages[0] as { filter: { value: number } }).filter.value, 5400],
  [
    '{app="api"} | size > 20MB',
    (e) => (e as LogQuery).stages[0],
    { kind: 'label_filter', filter: { kind: 'compare', name: 'size', op: '>', value: 20e6, unit: 'bytes' } },
  ],
  ['{app="api"} | size < 1KiB', (e) => ((e as LogQuery).stages[0] as { filter: { value: number } }).filter.value, 1024],
  ['{app="api"} | ratio > 0.5', (e) => ((e as LogQuery).stages[0] as { filter: { value: number } }).filter.value, 0.5],
  ['{app="api"} | delta > -3', (e) => ((e as LogQuery).stages[0] as { filter: { value: number } }).filter.value, -3],
  ['{app="api"} | a="1" and b="2"', (e) => ((e as LogQuery).stages[0] as { filter: { kind: string } }).filter.kind, 'and'],
  ['{app="api"} | a="1", b="2"', (e) => ((e as LogQuery).stages[0] as { filter: { kind: string } }).filter.kind, 'and'],
  ['{app="api"} | a="1" b="2"', (e) => ((e as LogQuery).stages[0] as { filter: { kind: string } }).filter.kind, 'and'],
  [
    '{app="api"} | a="1" or b="2" and c="3"',
    (e) => ((e as LogQuery).stages[0] as { filter: { kind: string; right: { kind: string } } }).filter.right.kind,
    'and',
  ],
  [
    '{app="api"} | (a="1" or b="2") and c > 3',
    (e) => ((e as LogQuery).stages[0] as { filter: { kind: string; left: { kind: string } } }).filter.left.kind,
    'or',
  ],
  ['{app="api"} | json | json="x"', (e) => (e as LogQuery).stages[1].kind, 'label_filter'],
  ['{app="api"} | __error__=""', (e) => (e as LogQuery).stages[0].kind, 'label_filter'],
  ['{app="api"} # a comment\n |= "x"', (e) => (e as LogQuery).stages.length, 1],
  [
    'count_over_time({app="api"}[5m])',
    (e) => [e.kind, (e as { fn: string }).fn, (e as { rangeMs: number }).rangeMs],
    ['range', 'count_over_time', 300_000],
  ],
  ['rate({app="api"} |= "x" [1m])', (e) => (e as { log: LogQuery }).log.stages.length, 1],
  ['bytes_over_time({app="api"}[1h])', (e) => (e as { rangeMs: number }).rangeMs, 3_600_000],
  ['bytes_rate({app="api"}[30s])', (e) => (e as { fn: string }).fn, 'bytes_rate'],
  ['absent_over_time({app="api"}[5m])', (e) => (e as { fn: string }).fn, 'absent_over_time'],
  ['count_over_time({app="api"}[5m] offset 1h)', (e) => (e as { offsetMs: number }).offsetMs, 3_600_000],
  [
    'sum_over_time({app="api"} | json | unwrap bytes_sent [5m])',
    (e) => (e as { unwrap: unknown }).unwrap,
    { label: 'bytes_sent', conversion: 'number', postFilters: [] },
  ],
  [
    'avg_over_time({app="api"} | logfmt | unwrap duration(latency) [5m])',
    (e) => (e as { unwrap: { conversion: string } }).unwrap.conversion,
    'duration',
  ],
  [
    'max_over_time({app="api"} | logfmt | unwrap duration_seconds(latency) [5m])',
    (e) => (e as { unwrap: { conversion: string } }).unwrap.conversion,
    'duration',
  ],
  [
    'min_over_time({app="api"} | logfmt | unwrap bytes(size) [5m])',
    (e) => (e as { unwrap: { conversion: string } }).unwrap.conversion,
    'bytes',
  ],
  [
    'quantile_over_time(0.99, {app="api"} | json | unwrap latency | __error__="" [5m]) by (path)',
    (e) => [
      (e as { param: number }).param,
      (e as { grouping: unknown }).grouping,
      (e as { unwrap: { postFilters: unknown[] } }).unwrap.postFilters.length,
    ],
    [0.99, { without: false, labels: ['path'] }, 1],
  ],
  [
    'sum(rate({app="api"}[5m]))',
    (e) => [e.kind, (e as { op: string }).op, (e as { grouping?: unknown }).grouping],
    ['vector_agg', 'sum', undefined],
  ],
  ['sum by (level) (rate({app="api"}[5m]))', (e) => (e as { grouping: unknown }).grouping, { without: false, labels: ['level'] }],
  [
    'sum(rate({app="api"}[5m])) by (level, app)',
    (e) => (e as { grouping: unknown }).grouping,
    { without: false, labels: ['level', 'app'] },
  ],
  [
    'avg without (pod) (count_over_time({app="api"}[5m]))',
    (e) => (e as { grouping: unknown }).grouping,
    { without: true, labels: ['pod'] },
  ],
  ['topk(3, sum by (app) (rate({app=~".+"}[5m])))', (e) => [(e as { op: string }).op, (e as { param: number }).param], ['topk', 3]],
  ['bottomk(1, count_over_time({app="api"}[5m]))', (e) => (e as { param: number }).param, 1],
  ['max by () (count_over_time({app="api"}[5m]))', (e) => (e as { grouping: unknown }).grouping, { without: false, labels: [] }],
  ['count(count_over_time({app="api"}[5m]))', (e) => (e as { op: string }).op, 'count'],
  ['vector(1)+vector(1)', (e) => [e.kind, (e as { op: string }).op], ['binary', '+']],
  ['vector(0)', (e) => e, { kind: 'vector', value: 0 }],
  ['1 + 2 * 3', (e) => (e as { right: { op: string } }).right.op, '*'],
  ['(1 + 2) * 3', (e) => (e as { left: { op: string } }).left.op, '+'],
  ['2 ^ 3 ^ 2', (e) => (e as { right: { kind: string } }).right.kind, 'binary'],
  ['-1', (e) => e, { kind: 'number', value: -1 }],
  ['sum(rate({a="b"}[1m])) / sum(rate({a="c"}[1m]))', (e) => (e as { op: string }).op, '/'],
  ['sum(rate({a="b"}[1m])) > 10', (e) => [(e as { op: string }).op, (e as { returnBool: boolean }).returnBool], ['>', false]],
  ['sum(rate({a="b"}[1m])) >= bool 10', (e) => (e as { returnBool: boolean }).returnBool, true],
  ['sum(rate({a="b"}[1m])) == 0 or vector(0)', (e) => (e as { op: string }).op, 'or'],
  ['rate({a="b"}[1m]) and rate({a="c"}[1m])', (e) => (e as { op: string }).op, 'and'],
  [
    'rate({a="b"}[1m]) unless on (app) rate({a="c"}[1m])',
    (e) => (e as { matching: unknown }).matching,
    { on: true, labels: ['app'], card: 'one-to-one', include: [] },
  ],
  [
    'rate({a="b"}[1m]) / ignoring (pod) rate({a="c"}[1m])',
    (e) => (e as { matching: unknown }).matching,
    { on: false, labels: ['pod'], card: 'one-to-one', include: [] },
  ],
  [
    'rate({a="b"}[1m]) / on (app) group_left (team, tier) rate({a="c"}[1m])',
    (e) => (e as { matching: unknown }).matching,
    { on: true, labels: ['app'], card: 'many-to-one', include: ['team', 'tier'] },
  ],
  [
    'rate({a="b"}[1m]) * ignoring (pod) group_right rate({a="c"}[1m])',
    (e) => (e as { matching: unknown }).matching,
    { on: false, labels: ['pod'], card: 'one-to-many', include: [] },
  ],
  ['sort(rate({a="b"}[1m]))', (e) => (e as { op: string }).op, 'sort'],
  [
    'rate({a="b"} | logfmt | unwrap bytes [1m])',
    (e) => [(e as { fn: string }).fn, (e as { unwrap: { label: string } }).unwrap.label, (e as { grouping: unknown }).grouping],
    ['rate', 'bytes', undefined],
  ],
  [
    'rate_counter({a="b"} | logfmt | unwrap requests | __error__="" [5m])',
    (e) => [(e as { fn: string }).fn, (e as { unwrap: { label: string } }).unwrap.label, (e as { rangeMs: number }).rangeMs],
    ['rate_counter', 'requests', 300_000],
  ],
  ['sort_desc(sum by (a) (rate({a="b"}[1m])))', (e) => (e as { op: string }).op, 'sort_desc'],
  [
    'label_replace(rate({a="b"}[1m]), "dst", "$1-x", "src", "(.*)")',
    (e) => ({ ...e, expr: undefined }),
    { kind: 'label_replace', expr: undefined, dst: 'dst', replacement: '$1-x', src: 'src', regex: '(.*)' },
  ],
  ['{a="b"} | decolorize != "x"', (e) => (e as LogQuery).stages.map((stage) => stage.kind), ['decolorize', 'line_filter']],
  ['{a="b"} | json !~ "x"', (e) => (e as LogQuery).stages.map((stage) => stage.kind), ['json', 'line_filter']],
  ['sum(count_over_time({a="b"}[1m])) % 7', (e) => (e as { op: string }).op, '%'],
];

test(`${valid.length} LogQL queries parse into the expected tree`, () => {
  for (const [query, pick, expected] of valid) {
    assert.deepEqual(pick(parseLogql(query)), expected, query);
  }
});

test(`format_query: each of the ${valid.length} queries formats to text that parses back to the same tree`, () => {
  for (const [query] of valid) {
    const tree = parseLogql(query);
    for (const text of [formatLogql(tree), prettyLogql(tree)]) assert.deepEqual(parseLogql(text), tree, `${query} → ${text}`);
  }
  assert.equal(
    formatLogql(parseLogql('sum by(app)(rate({app="api",env=~"p.*"}|="x"|json|status>=500[5m]))')),
    'sum by (app)(rate({app="api", env=~"p.*"} |= "x" | json | status>=500[5m]))',
  );
  assert.equal(
    formatLogql(parseLogql('rate({a="b"}[1m]) / on(app) group_left(team) rate({a="c"}[90s] offset 1h)')),
    '(rate({a="b"}[1m]) / on (app) group_left (team) rate({a="c"}[1m30s] offset 1h))',
  );
  assert.equal(
    formatLogql(parseLogql('{a="b"} | logfmt | latency > 1.5s or size <= 10KB')),
    '{a="b"} | logfmt | ( latency>1.5s or size<=10000B )',
  );
  // Longer than 100 characters: split, two spaces a level, as Loki's Prettify.
  assert.equal(
    prettyLogql(
      parseLogql(
        'sum by (service_name) (count_over_time({service_name="checkout", k8s_namespace_name="shop"} |= "payment" | json | status >= 500 [5m]))',
      ),
    ),
    [
      'sum by (service_name)(',
      '  count_over_time(',
      '    {service_name="checkout", k8s_namespace_name="shop"}',
      '      |= "payment"',
      '      | json',
      '      | status>=500 [5m]',
      '  )',
      ')',
    ].join('\n'),
  );
});

/** Queries that must be refused, with the column of the error and what it expected. */
const invalid: [string, number, RegExp][] = [
  ['', 1, /expected a log or metric query, found end of query/],
  ['{app="api"', 11, /expected "}", found end of query/],
  ['{app="api" env="x"}', 12, /expected "}", found "env"/],
  ['{app}', 5, /expected one of = != =~ !~, found "}"/],
  ['{app=api}', 6, /expected a quoted string, found "api"/],
  ['{}', 2, /at least one label matcher/],
  ['{app=""}', 8, /at least one matcher that does not match the empty value/],
  ['{app="x} |= "y"', 15, /expected a closing "/],
  ['{app="api"} |= ', 16, /expected a quoted string after the line filter, found end of query/],
  ['{app="api"} |~ "(unclosed"', 16, /expected a valid regular expression/],
  ['{app="api"} | jsn', 18, /expected a comparison/],
  ['{app="api"} | status >', 23, /expected a quoted string, a number, a duration or a byte size, found end of query/],
  ['{app="api"} | status > "x"', 24, /expected a number, duration or byte size to compare with/],
  ['{app="api"} | status =~ 5', 25, /expected a quoted regular expression/],
  ['{app="api"} | regexp "no groups"', 22, /at least one named group/],
  ['{app="api"} | pattern "<_> only"', 23, /at least one named capture/],
  ['{app="api"} | line_format', 26, /expected a quoted template/],
  ['{app="api"} | logfmt --fast', 22, /expected --strict or --keep-empty/],
  ['count_over_time({app="api"})', 28, /expected "\[", found "\)"/],
  ['count_over_time({app="api"}[5])', 29, /expected a range duration such as 5m, found "5"/],
  ['count_over_time({app="api"}[5x])', 29, /expected a number, duration \(5m\) or byte size \(10KB\), found 5x/],
  ['rate({app="api"}[5m]', 21, /expected "\)", found end of query/],
  ['sum_over_time({app="api"}[5m])', 27, /"\| unwrap <label>" before the range of sum_over_time/],
  ['count_over_time({app="api"} | unwrap x [5m])', 1, /a range function that takes unwrapped values/],
  ['rate({app="api"}[5m]) by (app)', 30, /no grouping on rate/],
  ['rate_counter({app="api"} | unwrap x [5m]) by (app)', 50, /no grouping on rate_counter/],
  ['sum_over_time({app="api"} | unwrap x [5m]) by (app)', 51, /no grouping on sum_over_time/],
  ['rate_counter({app="api"}[5m])', 26, /"\| unwrap <label>" before the range of rate_counter/],
  ['sum(rate({a="b"}[1m])', 22, /expected "\)", found end of query/],
  ['topk(rate({a="b"}[1m]))', 6, /expected a number, found "rate"/],
  ['topk(0, rate({a="b"}[1m]))', 6, /positive integer k for topk/],
  ['sum by app (rate({a="b"}[1m]))', 8, /expected "\(", found "app"/],
  ['{a="b"} + 1', 9, /a metric query on both sides of a binary operation/],
  ['sum(rate({a="b"}[1m])) +', 25, /expected a stream selector/],
  ['vector("1")', 8, /expected a number, found "1"/],
  ['rate({a="b"}[1m]) foo', 19, /expected an operator or the end of the query, found "foo"/],
  ['{a="b"} | unwrap x', 19, /a range function around a query with "\| unwrap"/],
  ['{a="\\q"}', 5, /expected a valid escape/],
  ['{a="b"} @', 9, /expected a LogQL token, found "@"/],
  ['rate({a="b"}[1m]) and on (x) group_left rate({a="c"}[1m])', 30, /expected no grouping modifier with the set operator "and"/],
  ['rate({a="b"}[1m]) * on (x) group_left (x) rate({a="c"}[1m])', 28, /expected label "x" in either on\(…\) or group_left\(…\), not both/],
  ['sort by (a) (rate({a="b"}[1m]))', 6, /expected no grouping on sort/],
  ['label_replace(rate({a="b"}[1m]), "a-b", "", "src", ".*")', 34, /expected a valid label name as the destination label/],
  ['label_replace(rate({a="b"}[1m]), "a", "", "src", "(")', 50, /expected a valid regular expression/],
  ['label_replace(rate({a="b"}[1m]), "a", "")', 41, /expected ",", found "\)"/],
];

test(`${invalid.length} invalid queries fail with their position and what was expected`, () => {
  for (const [query, column, message] of invalid) {
    assert.throws(
      () => parseLogql(query),
      (error: unknown) => {
        assert.ok(error instanceof LogqlParseError, `${query}: ${String(error)}`);
        assert.equal(error.code, 'ML_QUERY_PARSE');
        assert.equal(error.status, 400);
        assert.equal(error.column, column, `${query}: ${error.message}`);
        assert.match(error.message, message, query);
        assert.match(error.message, new RegExp(`^invalid LogQL: parse error at line 1, col ${column}: expected `));
        return true;
      },
      query,
    );
  }
  const multiline = (() => {
    try {
      parseLogql('{a="b"}\n  | json\n  | x >');
    } catch (error) {
      return error as LogqlParseError;
    }
  })();
  assert.equal(multiline?.line, 3);
  assert.equal(multiline?.column, 8);
});

const scope = { database: 'meshlog', tenant: 'acme', startNs: 1_000n, endNs: 2_000n };
const rowsOf = (query: string) => compileLogRows(parseLogql(query) as LogQuery, scope, { direction: 'backward', limit: 100, offset: 0 });

test('compiled SQL binds every user value as a parameter and confines the query to the tenant', () => {
  const hostile = `x'); DROP TABLE meshlog.logs; --`;
  const hostileRegex = `x'.*; DROP TABLE meshlog.logs; --`;
  const compiled = rowsOf(
    `{service_name=${JSON.stringify(hostile)}, k8s_namespace_name=~${JSON.stringify(hostileRegex)}} |= ${JSON.stringify(hostile)} != ${JSON.stringify(hostile)} |~ "a|b" | user_id=${JSON.stringify(hostile)}`,
  );
  assert.ok(!compiled.sql.includes('DROP'), compiled.sql);
  assert.ok(!compiled.sql.includes('acme'));
  const tenantParam = /WHERE tenant = \{(p\d+):String\}/.exec(compiled.sql)?.[1];
  assert.equal(compiled.params[tenantParam!], 'acme');
  const values = Object.values(compiled.params);
  assert.ok(values.includes(hostile));
  assert.ok(values.includes(`^(?:${hostileRegex})$`), 'regex matchers are anchored');
  assert.ok(values.includes(containsPattern(hostile)));
  assert.deepEqual(compiled.residual, [], 'all filters before any parser run in SQL');
  assert.match(compiled.sql, /ORDER BY timestamp DESC\nLIMIT \{p\d+:UInt64\} OFFSET \{p\d+:UInt64\}$/);
});

test('the any-value matchers =~".+" and =~".*" compile to comparisons, not regexes', () => {
  const compiled = rowsOf('{service_name=~".+", env=~".*", team!~".+"}');
  assert.ok(!compiled.sql.includes('match('), compiled.sql);
  assert.match(compiled.sql, /AND service_name != ''\n/);
  assert.match(compiled.sql, /AND 1\n/);
  assert.match(compiled.sql, /AND resource_attributes\[\{p\d+:String\}\] = ''\n/);
  assert.ok(!Object.values(compiled.params).includes('^(?:.+)$'));
});

test('the plan says which line filters the text index serves and what runs in the engine', () => {
  const compiled = rowsOf(
    '{app="a"} |= "user 42 logged in" |= "timeout" |= "conn-reset" != "debug" |~ "5\\\\d\\\\d" |~ "exact" | json | status >= 500 | line_format "{{.msg}}" |= "x"',
  );
  assert.deepEqual(compiled.plan, [
    'stream selector: 1 matcher(s) in SQL, tenant "acme"',
    'line filter |= "user 42 logged in": text index on tokens ["42","logged"], then substring check',
    'line filter |= "timeout": substring of one word, text index token dictionary (LIKE)',
    'line filter |= "conn-reset": no whole token in the text (its ends may be parts of longer words), scans body (no text index)',
    'line filter != "debug": negative filter, scans body (no text index)',
    'line filter |~ "5\\\\d\\\\d": regular expression, scans body (no text index)',
    'line filter |~ "exact": substring of one word, text index token dictionary (LIKE)',
    'json: evaluated by the query engine',
    'label filter on extracted labels or numeric comparison: evaluated by the query engine',
    'line_format: evaluated by the query engine',
    'line filter |= after line_format/decolorize: evaluated by the query engine',
  ]);
  assert.deepEqual(
    compiled.residual.map((stage) => stage.kind),
    ['json', 'label_filter', 'line_format', 'line_filter'],
  );
  assert.match(compiled.sql, /hasAllTokens\(body, \{p\d+:Array\(String\)\}\)/);
  assert.deepEqual(completeTokens('GET /api/v1/users'), ['api', 'v1']);
  assert.deepEqual(completeTokens('naïve café'), []);
  assert.equal(containsPattern('50%_off\\'), '%50\\%\\_off\\\\%');
});

test('string label filters before any parser run in SQL; after a parser they run in the engine', () => {
  assert.deepEqual(rowsOf('{app="a"} | level="error" | trace_id="abc"').residual, []);
  assert.deepEqual(
    rowsOf('{app="a"} | logfmt | level="error"').residual.map((s) => s.kind),
    ['logfmt', 'label_filter'],
  );
  assert.deepEqual(
    rowsOf('{app="a"} | status > 3').residual.map((s) => s.kind),
    ['label_filter'],
  );
  assert.deepEqual(
    rowsOf('{app="a"} |= "x" | drop __error__, __error_details__').residual,
    [],
    "Grafana's log volume query runs wholly in SQL",
  );
  assert.deepEqual(
    rowsOf('{app="a"} | json | drop __error__').residual.map((s) => s.kind),
    ['json', 'drop'],
  );
  assert.deepEqual(
    rowsOf('{app="a"} | n > 1 | drop __error__').residual.map((s) => s.kind),
    ['label_filter', 'drop'],
  );
  const stream = rowsOf('{k8s_pod_name="shop-1", service_name="x", level="warn"}');
  assert.match(stream.sql, /replaceRegexpAll\(k, '\[\^A-Za-z0-9_\]', '_'\)/, 'Loki 3 names resource attribute keys');
  assert.match(stream.sql, /service_name = \{p\d+:String\}/);
  assert.match(stream.sql, /detected_level = \{p\d+:String\}/, 'the level column materialized at insert');
  assert.match(
    rowsOf('{k8s_namespace_name="shop"}').sql,
    /AND k8s_namespace_name = \{p\d+:String\}\n/,
    'the namespace column materialized at insert',
  );
});

test('range aggregations group into buckets in SQL, with an outer sum by pushed down', () => {
  const query = parseLogql('sum by (service_name) (count_over_time({app="a"} |= "x" [5m]))') as { expr: { log: LogQuery } };
  const compiled = compileBuckets(query.expr.log, scope, { originNs: 0n, widthNs: 60_000_000_000n, groupBy: ['service_name'] });
  assert.match(compiled.sql, /SELECT \[service_name\] AS g/);
  assert.match(compiled.sql, /GROUP BY g, bucket$/);
  assert.match(compiled.sql, /toString\(0\) AS bytes/, 'counts never read the bodies');
  assert.deepEqual(compiled.residual, []);
  assert.match(
    compileBuckets(query.expr.log, scope, { originNs: 0n, widthNs: 60_000_000_000n, groupBy: [], bytes: true }).sql,
    /sum\(length\(body\)\)/,
  );
});

test('sum by service or level over minute-aligned windows reads the per-minute counts, exactly the same windows', () => {
  const minute = 60_000_000_000n;
  const aligned = { database: 'meshlog', tenant: 'acme', startNs: 0n, endNs: 1_440n * minute };
  const log = (query: string) => (parseLogql(query) as { expr: { log: LogQuery } }).expr.log;
  const byMinute = compileBuckets(log('sum by (service_name, level) (rate({k8s_namespace_name="shop"} | drop __error__ [5m]))'), aligned, {
    originNs: 5n * minute,
    widthNs: 5n * minute,
    groupBy: ['service_name', 'level'],
  });
  assert.match(byMinute.plan.at(-1)!, /per-minute counts \(projection minute_counts\)/);
  assert.ok(!byMinute.sql.includes('fromUnixTimestamp64Nano'), byMinute.sql);
  // Windows (origin, end] in minutes m covering (m·60 s, (m+1)·60 s]: m from origin/60 s to end/60 s − 1, in the bucket of the minute's end.
  const params = Object.values(byMinute.params);
  assert.ok(params.includes('5') && params.includes('1439'), JSON.stringify(byMinute.params));
  assert.match(
    byMinute.sql,
    /intDiv\(\(intDiv\(toUnixTimestamp64Nano\(timestamp\) - 1, 60000000000\) \+ 1\) \* toInt64\(60000000000\) - \{p\d+:Int64\} \+ \{p\d+:Int64\} - 1, \{p\d+:Int64\}\)/,
  );
  // With query.pushdown, an instant off the minute reads rows only for the minute its window's start cuts;
  // a 5-minute step off the minute over a day (287 cut minutes) reads every row in one range.
  const instant = compileBuckets(
    log('sum by (service_name) (count_over_time({service_name="a"}[1435m]))'),
    { ...aligned, pushdown: true },
    { originNs: 5n * minute + 1n, widthNs: 1435n * minute, groupBy: ['service_name'] },
  );
  assert.match(instant.plan.at(-1)!, /^1 minute\(s\) cut by window bounds read as rows/);
  const manyCuts = compileBuckets(
    log('sum by (service_name) (rate({service_name="a"}[5m]))'),
    { ...aligned, pushdown: true },
    { originNs: 5n * minute + 1n, widthNs: 5n * minute, groupBy: ['service_name'] },
  );
  assert.match(manyCuts.plan.at(-1)!, /^range aggregation in SQL/);
  // The same windows as a range query has them (the end one of the bounds): every 5th minute's rows by one condition.
  const progression = compileBuckets(
    log('sum by (service_name) (rate({service_name="a"}[5m]))'),
    { ...aligned, endNs: aligned.endNs + 1n, pushdown: true },
    { originNs: 5n * minute + 1n, widthNs: 5n * minute, groupBy: ['service_name'] },
  );
  assert.match(progression.plan.at(-1)!, /^288 minute\(s\) cut by window bounds read as rows \(every 5th minute/);
  const [wholeMinutes, cutRows] = progression.sql.split('UNION ALL');
  assert.match(wholeMinutes, /AND NOT \(intDiv\(toUnixTimestamp64Nano\(timestamp\) - 1, 60000000000\) % \{p\d+:Int64\} = \{p\d+:Int64\}\)/);
  assert.match(cutRows, /AND intDiv\(toUnixTimestamp64Nano\(timestamp\) - 1, 60000000000\) % \{p\d+:Int64\} = \{p\d+:Int64\}/);
  // 1- and 2-minute widths off the minute cut half the minutes or more: every row in one range.
  const everyOther = compileBuckets(
    log('sum by (service_name) (rate({service_name="a"}[2m]))'),
    { ...aligned, endNs: aligned.endNs + 1n, pushdown: true },
    { originNs: 5n * minute + 1n, widthNs: 2n * minute, groupBy: ['service_name'] },
  );
  assert.match(everyOther.plan.at(-1)!, /^range aggregation in SQL/);
  // Anything else reads rows: a window off the minute without pushdown, a line filter, a label the projection lacks, metadata-backed grouping.
  const rows = (query: string, groupBy: string[], originNs = 5n * minute, scope = aligned) =>
    compileBuckets(log(query), scope, { originNs, widthNs: 5n * minute, groupBy }).plan.at(-1)!;
  assert.match(
    rows('sum by (service_name) (rate({service_name="a"}[5m]))', ['service_name'], 5n * minute + 1n),
    /^range aggregation in SQL/,
  );
  assert.match(
    rows('sum by (service_name) (rate({service_name="a"}[5m]))', ['service_name'], 5n * minute, { ...aligned, endNs: aligned.endNs - 1n }),
    /^range aggregation in SQL/,
  );
  assert.match(rows('sum by (service_name) (rate({service_name="a"} |= "x" [5m]))', ['service_name']), /^range aggregation in SQL/);
  assert.match(rows('sum by (service_name) (rate({cluster="a"}[5m]))', ['service_name']), /^range aggregation in SQL/);
  assert.match(rows('sum by (k8s_namespace_name) (rate({service_name="a"}[5m]))', ['k8s_namespace_name']), /^range aggregation in SQL/);
});

function run(query: string, line: string, labels: Record<string, string> = {}): Entry | undefined {
  const log = parseLogql(query) as LogQuery;
  const entry: Entry = { timestampNs: '1767000000000000000', line, labels: new Map(Object.entries(labels)) };
  return compilePipeline(log.stages)(entry) ? entry : undefined;
}

test('engine stages: parsers, label filters, formats', () => {
  const json = run('{a="b"} | json', '{"a":"x","user":{"id":7,"tags":["t"]},"ok":true,"n":null}', { a: 'b' });
  assert.deepEqual(Object.fromEntries(json!.labels), { a: 'b', a_extracted: 'x', user_id: '7', ok: 'true' });
  assert.deepEqual(Object.fromEntries(run('{a="b"} | json id="user.id", tag="user.tags[0]"', '{"user":{"id":7,"tags":["t"]}}')!.labels), {
    id: '7',
    tag: 't',
  });
  assert.equal(run('{a="b"} | json', 'not json')!.labels.get('__error__'), 'JSONParserErr');
  assert.equal(run('{a="b"} | json | __error__=""', 'not json'), undefined);
  assert.deepEqual(Object.fromEntries(run('{a="b"} | logfmt', 'level=info msg="hello world" n=3 http.code=200')!.labels), {
    level: 'info',
    msg: 'hello world',
    n: '3',
    http_code: '200',
  });
  assert.deepEqual(
    Object.fromEntries(
      run(
        '{a="b"} | pattern "<ip> - <user> [<_>] \\"<method> <path> <_>\\" <status>"',
        '1.2.3.4 - bob [10/Oct/2000:13:55:36] "GET /a.gif HTTP/1.0" 200',
      )!.labels,
    ),
    { ip: '1.2.3.4', user: 'bob', method: 'GET', path: '/a.gif', status: '200' },
  );
  assert.deepEqual(Object.fromEntries(run('{a="b"} | regexp "(?P<verb>[A-Z]+) (?P<code>\\\\d+)"', 'x GET 404 y')!.labels), {
    verb: 'GET',
    code: '404',
  });
  const unpacked = run('{a="b"} | unpack', '{"_entry":"original line","pod":"p1"}')!;
  assert.equal(unpacked.line, 'original line');
  assert.equal(unpacked.labels.get('pod'), 'p1');
  assert.equal(run('{a="b"} | decolorize', '\u001b[1;31mred\u001b[0m text')!.line, 'red text');
  assert.equal(
    run('{a="b"} | logfmt | line_format "{{.level | ToUpper}}: {{.msg}} ({{ default \\"none\\" .missing }})"', 'level=warn msg=hi')!.line,
    'WARN: hi (none)',
  );
  assert.equal(run('{a="b"} | line_format "[{{__line__}}]"', 'raw')!.line, '[raw]');
  assert.deepEqual(
    Object.fromEntries(run('{a="b"} | logfmt | label_format lvl=level, both="{{.level}}/{{.n}}"', 'level=warn n=1')!.labels),
    { n: '1', lvl: 'warn', both: 'warn/1' },
  );
  assert.deepEqual(Object.fromEntries(run('{a="b"} | logfmt | drop n, level="warn"', 'level=warn n=1 m=2', { a: 'b' })!.labels), {
    a: 'b',
    m: '2',
  });
  assert.deepEqual(Object.fromEntries(run('{a="b"} | logfmt | keep m', 'level=warn n=1 m=2', { a: 'b' })!.labels), { m: '2' });
  // Numeric, duration and bytes comparisons.
  assert.ok(run('{a="b"} | logfmt | d > 1s and d < 1m', 'd=1.5s'));
  assert.equal(run('{a="b"} | logfmt | d > 2s', 'd=1500ms'), undefined);
  assert.ok(run('{a="b"} | logfmt | s >= 1KB', 's=1.5kB'));
  assert.equal(run('{a="b"} | logfmt | n == 3 or n == 4', 'n=5'), undefined);
  assert.equal(run('{a="b"} | logfmt | n > 1', 'n=abc')!.labels.get('__error__'), 'LabelFilterErr');
  assert.equal(run('{a="b"} | logfmt | n > 1', 'm=1'), undefined, 'a missing label fails a numeric filter');
  assert.ok(run('{a="b"} | logfmt | level=~"warn|error"', 'level=error'));
  assert.equal(run('{a="b"} | logfmt | level=~"warn"', 'level=warning'), undefined, 'label regexes are anchored');
  assert.ok(run('{a="b"} | level="info"', 'x', { detected_level: 'info' }), 'level names the detected level');
  assert.ok(run('{a="b"} | line_format "{{.a}}" |= "b"', 'x', { a: 'b' }));
  assert.ok(run('{a="b"} |~ "(?i)ERROR"', 'an error'));
  assert.deepEqual(matchPattern(patternParts('<a> <b>'), 'x y z'), [
    ['a', 'x'],
    ['b', 'y z'],
  ]);
  // Loki's matcher: a missing literal ends matching, the capture takes the rest; a leading literal must start the line.
  assert.deepEqual(matchPattern(patternParts('<a> - <b> "<c>"'), 'x - y z'), [
    ['a', 'x'],
    ['b', 'y z'],
  ]);
  assert.deepEqual(matchPattern(patternParts('GET <p>'), 'POST /x'), []);
  assert.throws(() => compileTemplate('{{ nosuch .a }}'), /template: line:1: function "nosuch" not defined/);
  const template = (text: string, labels: Record<string, string>) =>
    compileTemplate(text)({ labels: new Map(Object.entries(labels)), line: '', timestampNs: '0' });
  assert.equal(template('{{ regexReplaceAll "(?P<user>\\\\w+)@(\\\\w+)" .a "${user} at $2" }}', { a: 'x bob@acme y' }), 'x bob at acme y');
  assert.equal(template('{{ TrimSuffix .a ".log" }}|{{ TrimPrefix .a "app" }}', { a: 'app.log' }), 'app|.log');
  assert.equal(template('{{ .a | repeat 2 }}', { a: 'ab' }), 'abab');
  assert.throws(() => compileTemplate('{{ regexReplaceAll "\\w" .a "" }}'), /template: line:1: invalid string literal "\\w"/);
});

test("Go's text/template in line_format: if/else, with, range, variables, builtins and Go's errors", () => {
  const template = (text: string, labels: Record<string, string> = {}, timestampNs = '1661518453244672570') =>
    compileTemplate(text)({ labels: new Map(Object.entries(labels)), line: 'l', timestampNs });
  assert.equal(template('{{ if .a }}x{{ else if eq .b "1" }}y{{ else }}z{{ end }}', { a: '', b: '1' }), 'y');
  assert.equal(template('{{ if not .a }}empty{{ end }}'), 'empty', 'a missing label is the empty string (missingkey=zero)');
  assert.equal(template('{{- with .a }} [{{ . }}] {{- end -}} !', { a: 'v' }), ' [v]!', 'trim markers and with');
  assert.equal(template('{{ $n := len .a }}{{ $n }} {{ index . "a" }}', { a: 'héllo' }), '6 héllo', 'len counts bytes, as Go');
  assert.equal(
    template('{{ range $k, $v := fromJson .j }}{{ $k }}={{ $v }};{{ else }}none{{ end }}', { j: '{"b":2,"a":[1,"x"]}' }),
    'a=[1 x];b=2;',
  );
  assert.equal(template('{{ range fromJson .j }}{{ if eq . 2.0 }}{{ break }}{{ end }}{{ . }}{{ end }}', { j: '[1,2,3]' }), '1');
  assert.equal(template('{{ range fromJson .j }}x{{ else }}none{{ end }}', { j: 'not json' }), 'none', 'fromJson of non-JSON is nil');
  assert.equal(template('{{ and 1 0 }} {{ or "" "z" }} {{ not true }} {{ eq 1 2 3 1 }} {{ lt 1.5 2 }}'), '0 z false true true');
  // sprig's arithmetic gives Go numbers, so it compares with number literals.
  assert.equal(template('{{ if gt (.status | int) 499 }}5xx{{ else }}ok{{ end }}', { status: '503' }), '5xx');
  assert.equal(
    template('{{ addf 1000000 0.5 }} {{ mul 1000 1000 }} {{ (fromJson .j) | default "-" }}', { j: 'x' }),
    '1.0000005e+06 1000000 -',
  );
  assert.throws(() => template('{{ div 1 0 }}'), /executing "line" at <div>: error calling div: runtime error: integer divide by zero/);
  assert.equal(template('{{ printf "%-6s|%5.2f|%d|%q|%x" "ab" 3.14159 42 "q" 255 }}'), 'ab    | 3.14|42|"q"|ff');
  assert.equal(
    template('{{ printf "%d" "x" }} {{ printf "%s" }}'),
    '%!d(string=x) %!s(MISSING)',
    "Go's fmt for a wrong or missing argument",
  );
  // __timestamp__ is a time.Time: printed as Go's String(), formatted by Go layouts.
  assert.equal(template('{{ __timestamp__ }}'), '2022-08-26 12:54:13.24467257 +0000 UTC');
  assert.equal(template('{{ __timestamp__ | date "2006-01-02T15:04:05.00Z07:00" }}'), '2022-08-26T12:54:13.24Z');
  assert.equal(
    template('{{ __timestamp__ | date "Mon Jan _2 3:04:05PM MST 2006 .000000 002" }}'),
    'Fri Aug 26 12:54:13PM UTC 2022 .244672 238',
  );
  assert.equal(template('{{ toDate "2006-01-02 15:04 -0700" "2021-11-02 10:30 +0200" | unixEpoch }}'), '1635841800');
  assert.equal(template('{{ toDate "Jan 2, 2006 at 3:04pm" "Nov 2, 2021 at 1:30pm" | unixEpochMillis }}'), '1635859800000');
  assert.equal(template('{{ toDate "2006-01-02" "garbage" }}'), '0001-01-01 00:00:00 +0000 UTC', "Go's zero time, without an error");
  assert.equal(template('{{ date "2006-01-02" 1635811200 }}'), '2021-11-02', 'sprig date of Unix seconds');
  // toDateInZone reads a wall time in the named zone (Go's ParseInLocation); an offset in the value wins; an unknown zone is UTC.
  // 2021-11-02 10:30 in New York is EDT (-4): 14:30 UTC; in Kolkata (+5:30): 05:00 UTC.
  assert.equal(template('{{ toDateInZone "2006-01-02 15:04" "America/New_York" "2021-11-02 10:30" | unixEpoch }}'), '1635863400');
  assert.equal(template('{{ toDateInZone "2006-01-02 15:04" "Asia/Kolkata" "2021-11-02 10:30" | unixEpoch }}'), '1635829200');
  assert.equal(template('{{ toDateInZone "2006-01-02 15:04 -0700" "Asia/Kolkata" "2021-11-02 10:30 +0200" | unixEpoch }}'), '1635841800');
  assert.equal(template('{{ toDateInZone "2006-01-02 15:04" "Not/AZone" "2021-11-02 10:30" | unixEpoch }}'), '1635849000');
  // After the autumn change in Berlin (CET, +1): 10:30 is 09:30 UTC.
  assert.equal(template('{{ toDateInZone "2006-01-02 15:04" "Europe/Berlin" "2021-11-02 10:30" | unixEpoch }}'), '1635845400');

  assert.match(template('{{ now }}'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/);
  // Go's errors, while running (TemplateFormatErr) and when parsing (a 400).
  assert.throws(
    () => template('{{ .a | unixEpoch }}', { a: 'x' }),
    /^Error: template: line:1:8: executing "line" at <unixEpoch>: wrong type for value; expected time.Time; got string$/,
  );
  assert.throws(() => template('{{ .a.b }}', { a: 'x' }), /can't evaluate field b in type string/);
  assert.throws(() => template('{{ .a | duration }}', { a: '1d' }), /error calling duration: time: unknown unit "d" in duration "1d"/);
  assert.throws(() => compileTemplate('{{ if .a }}x'), /template: line:1: unexpected EOF/);
  assert.throws(() => compileTemplate('{{ $x }}'), /template: line:1: undefined variable "\$x"/);
  assert.throws(
    () => compileTemplate('{{ if 1 }}{{ $y := 1 }}{{ end }}{{ $y }}'),
    /undefined variable "\$y"/,
    'a variable ends with its block',
  );
});

test("durations as Loki reads them: Prometheus' or Go's form in a query (lex_test.go's Test_parseDuration), Go's only in a label's value, Prometheus' only in a range", () => {
  // grafana/loki pkg/logql/syntax/lex_test.go Test_parseDuration, in milliseconds.
  const day = 86_400_000;
  const lexCases: [string, number][] = [
    ['1ns', 1e-6],
    ['1s', 1000],
    ['1us', 1e-3],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1µs', 1e-3],
    ['1y', 365 * day],
    ['1w', 7 * day],
    ['1d', day],
    ['1h15m30.918273645s', 3_600_000 + 15 * 60_000 + 30_918.273645],
    ['-1s', -1000],
  ];
  for (const [text, ms] of lexCases) {
    const filter = ((parseLogql(`{a="b"} | latency > ${text}`) as LogQuery).stages[0] as { filter: { value: number } }).filter;
    assert.ok(Math.abs(filter.value * 1000 - ms) < 1e-6, `${text}: ${filter.value}`);
  }
  // A label's value is read by Go's time.ParseDuration (label_filter.go DurationLabelFilter): no d, w or y.
  assert.equal(run('{a="b"} | logfmt | latency > 1h', 'latency=2h')?.labels.get('__error__'), undefined);
  const day1 = run('{a="b"} | logfmt | latency > 1h', 'latency=2d');
  assert.equal(day1?.labels.get('__error__'), 'LabelFilterErr');
  assert.equal(day1?.labels.get('__error_details__'), 'time: unknown unit "d" in duration "2d"');
  assert.equal(run('{a="b"} | logfmt | latency > 1s', 'latency=1.5s')?.labels.get('__error__'), undefined, "Go's fractions");
  // A range is Prometheus' model.ParseDuration: whole units y w d h m s ms, in that order.
  for (const range of ['1d', '1w', '1y', '1h30m', '500ms'])
    assert.doesNotThrow(() => parseLogql(`count_over_time({a="b"}[${range}])`), range);
  for (const range of ['1.5h', '100us', '30m1h'])
    assert.throws(() => parseLogql(`count_over_time({a="b"}[${range}])`), /a range duration in whole y, w, d, h, m, s or ms/, range);
  assert.doesNotThrow(() => parseLogql('count_over_time({a="b"}[5m] offset 1.5h)'), 'an offset takes Go durations too');
});

test('Loki time and duration parameters', () => {
  assert.equal(parseLokiTime('1767000000', 0n, 'start'), 1_767_000_000_000_000_000n);
  assert.equal(parseLokiTime('1767000000123456789', 0n, 'start'), 1_767_000_000_123_456_789n);
  assert.equal(parseLokiTime('1767000000.25', 0n, 'start'), 1_767_000_000_250_000_000n);
  assert.equal(parseLokiTime('2025-12-29T09:20:00.000000001Z', 0n, 'start'), 1_767_000_000_000_000_001n);
  assert.equal(parseLokiTime('2025-12-29T10:20:00+01:00', 0n, 'start'), 1_767_000_000_000_000_000n);
  assert.equal(parseLokiTime(undefined, 5n, 'start'), 5n);
  assert.throws(() => parseLokiTime('soon', 0n, 'start'), /cannot parse "soon" to a valid timestamp \(start\)/);
  assert.equal(parseLokiDuration('15s', 'step'), 15_000_000_000n);
  assert.equal(parseLokiDuration('1m30s', 'step'), 90_000_000_000n);
  assert.equal(parseLokiDuration('0.5', 'step'), 500_000_000n);
});
