import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { MetricExpr } from '../../../src/query/logql/ast.js';
import { evaluateMetric } from '../../../src/query/logql/evaluateMetric.js';
import { stepsOf } from '../../../src/query/logql/metricValue.js';
import { defaultQueryLimits, type QueryContext } from '../../../src/query/logql/queryContext.js';
import { parseLogql } from '../../../src/query/logql/parser.js';
import { logQueryRunner } from '../../../src/storage/logs/logQueries.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/**
 * `| logfmt | unwrap … by (…)` with labels extracted by ClickHouse on plain lines
 * (logfmtSampleSql.ts) answers exactly as the query engine does with query.pushdown
 * off, over lines written to trip the extraction: keys inside quoted values, empty
 * and repeated keys, escapes, tabs, non-ASCII, dotted and digit-led keys, values
 * that do not convert, labels the row already carries. Real engine, real embedded
 * ClickHouse, both ways; results (or the error) must be identical.
 */
const tenant = 'logfmtsamples';
const secondNs = 1_000_000_000n;
const startNs = 1_767_300_000n * secondNs;
let storage: Storage;

const lines: { body: string; resource?: Record<string, string>; attributes?: Record<string, string>; mesh?: boolean }[] = [
  { body: 'level=info msg="request served" path=/a duration=5ms' },
  { body: 'msg="x path=/b duration=1s" path=/a duration=2ms' },
  { body: 'path= path="" path=/c duration= duration=3ms duration=9s' },
  { body: 'path=/d duration="4ms"' },
  { body: 'path=/e duration=fast' },
  { body: 'path=/f duration= 7ms' },
  { body: 'pa.th=/g duration=1ms' },
  { body: 'path=/h\tduration=2ms' },
  { body: 'path=/i duration=3ms x="a\\"b"' },
  { body: 'path=/ü duration=4ms' },
  { body: 'Path=/j duration=5ms' },
  { body: '1path=/k duration=6ms' },
  { body: 'path=/l duration=7ms', resource: { path: '/resource' } },
  { body: 'path=/m duration=8ms', attributes: { path: '/attribute' } },
  { body: 'pa_th=/n duration=9ms' },
  { body: 'path=/o duration=10ms', attributes: { duration: '1s' } },
  { body: 'duration=1.5h path=/p' },
  { body: 'duration=-3ms path=/p' },
  { body: 'duration=1h2m3.5s path=/p' },
  { body: 'path=/q duration=5ms=6' },
  { body: 'path="/r s" duration=11ms' },
  { body: 'path==x duration=12ms' },
  { body: 'duration=13ms path="a=b"' },
  { body: 'path=/t duration=14ms   ' },
  { body: '   path=/u duration=15ms' },
  { body: 'path=/v "duration"=16ms' },
  { body: 'path=/w duration' },
  { body: 'path=/x duration=17ms', attributes: { __error__: 'sent' } },
  { body: '{"duration":"1s","path":"/json"}' },
  { body: 'path=/y duration=0x10' },
  { body: 'path=/z duration=1e3' },
  // An access-log row: its mesh columns are labels too (duration_ms…), on plain and other lines alike.
  { body: 'path=/mesh duration=18ms', mesh: true },
  { body: 'path=/mesh\tduration=19ms', mesh: true },
];

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-logfmt-samples-'), database: 'meshlog' }, pino({ level: 'silent' }));
  const values = lines.map((line, index) => ({
    tenant,
    timestamp: `${startNs / secondNs + BigInt(index * 3 + 1)}.000000000`,
    observed_timestamp: `${startNs / secondNs + BigInt(index * 3 + 1)}.000000000`,
    service_name: 'lf',
    body: line.body,
    resource_attributes: { 'service.name': 'lf', ...line.resource },
    log_attributes: line.attributes ?? {},
    ...(line.mesh ? { mesh: 'istio', protocol: 'HTTP/1.1', response_code: 200, duration_ms: 18 } : {}),
  }));
  await storage.client.insert({
    table: 'meshlog.logs',
    values,
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
});
after(async () => {
  await storage.close();
});

async function run(query: string, pushdown: boolean, stepNs: bigint): Promise<{ result: unknown; plan: string[] }> {
  const ctx: QueryContext = {
    database: 'meshlog',
    tenant,
    runner: logQueryRunner(storage, { maxExecutionSeconds: 60 }),
    limits: { ...defaultQueryLimits, pushdown },
    plan: [],
    rowsRead: 0,
    bytesRead: 0,
  };
  const endNs = startNs + 120n * secondNs;
  // A step of 0 is an instant query at the end; otherwise a range query over the lines.
  const steps = stepNs === 0n ? stepsOf(endNs, endNs, secondNs, defaultQueryLimits) : stepsOf(startNs, endNs, stepNs, defaultQueryLimits);
  try {
    const result = await evaluateMetric(parseLogql(query) as MetricExpr, ctx, steps);
    return {
      result: JSON.parse(JSON.stringify(result, (_, value) => (value instanceof Float64Array ? [...value] : value))),
      plan: ctx.plan,
    };
  } catch (error) {
    return { result: { error: (error as Error).message }, plan: ctx.plan };
  }
}

const selector = '{service_name="lf"} | logfmt';
/** [query, how it is answered: SQL extracts the labels, the engine does, or the query fails (on both paths alike)] */
const cases: [string, 'sql' | 'engine' | 'error'][] = [
  [`quantile_over_time(0.5, ${selector} | unwrap duration(duration) | __error__="" [5m]) by (path)`, 'sql'],
  [`quantile_over_time(0.99, ${selector} | unwrap duration(duration) | __error__="" [10s]) by (path)`, 'sql'],
  [`max_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) by (path, Path, pa_th)`, 'sql'],
  // A log attribute named __error__ fails the query unless a filter skips it too.
  [`avg_over_time(${selector} | unwrap duration(duration) | __error__!="SampleExtractionErr" [5m]) by (path)`, 'error'],
  [`avg_over_time(${selector} | unwrap duration(duration) | __error__!="SampleExtractionErr" | __error__!="sent" [5m]) by (path)`, 'sql'],
  [`min_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) by (duration, path)`, 'sql'],
  [`max_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) by (msg)`, 'sql'],
  [`first_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) by (level)`, 'engine'],
  [`last_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) by (path)`, 'sql'],
  [`stddev_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) by (path)`, 'sql'],
  [`sum by (path) (avg_over_time(${selector} | unwrap duration(duration) | __error__="" [30s]) by (path))`, 'sql'],
  [`avg_over_time({service_name="lf"} |= "path=/p" | logfmt | unwrap duration(duration) [5m]) by (path)`, 'sql'],
  // Values that do not convert fail the query, naming the series as the engine does.
  [`avg_over_time(${selector} | unwrap duration(duration) [5m]) by (path)`, 'error'],
  [`max_over_time(${selector} | unwrap duration [5m]) by (path)`, 'error'],
  [`min_over_time(${selector} | unwrap bytes(duration) | __error__="" [5m]) by (path)`, 'sql'],
  // Not expressible in SQL: the engine answers.
  [`sum_over_time(${selector} | unwrap duration(duration) | __error__="" [5m])`, 'engine'],
  [`sum by (path) (sum_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]))`, 'engine'],
  [`max_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) without (path)`, 'engine'],
  [`max_over_time(${selector} | unwrap duration(duration) | __error__="" [5m]) by (_1path)`, 'engine'],
  [`max_over_time({service_name="lf"} | logfmt --strict | unwrap duration(duration) | __error__="" [5m]) by (path)`, 'engine'],
  [`max_over_time(${selector} | path!="/a" | unwrap duration(duration) | __error__="" [5m]) by (path)`, 'engine'],
];

test('logfmt unwrap samples extracted by ClickHouse on plain lines give the engine path results exactly, over lines built to trip the extraction', async () => {
  const failures: string[] = [];
  for (const stepNs of [0n, 10n * secondNs]) {
    for (const [query, answer] of cases) {
      const engine = await run(query, false, stepNs);
      const pushed = await run(query, true, stepNs);
      try {
        assert.deepEqual(pushed.result, engine.result, `${query} (step ${stepNs}): results differ`);
        assert.equal('error' in (engine.result as object), answer === 'error', `${query}: ${JSON.stringify(engine.result).slice(0, 300)}`);
        assert.doesNotMatch(JSON.stringify(engine.result), /parse error/, query);
        assert.equal(
          // Where every line read is plain and converts exactly, SQL also windows the values (logqlUnwrapWindows.test.ts).
          pushed.plan.some((step) => /extracted in SQL on plain lines|windowed in SQL/.test(step)),
          answer === 'sql',
          `${query}: plan ${pushed.plan.join('; ')}`,
        );
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  }
  assert.deepEqual(failures, []);
});

test('the lines SQL reads as plain logfmt are the ones the engine decodes to the same first non-empty value', async () => {
  const { logfmtValuePattern, plainLogfmtLinePattern } = await import('../../../src/query/logql/logfmtSampleSql.js');
  const { decodeLogfmt } = await import('../../../src/query/logql/logfmtDecoder.js');
  const result = await storage.client.query({
    query: `SELECT body, match(body, {line:String}) AS plain, trim(BOTH '"' FROM extract(body, {path:String})) AS path
      FROM meshlog.logs WHERE tenant = {tenant:String} ORDER BY timestamp`,
    query_params: { line: plainLogfmtLinePattern, path: logfmtValuePattern('path'), tenant },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ body: string; plain: number; path: string }>();
  const plain = rows.filter((row) => row.plain === 1);
  // Tabs, escapes, non-ASCII, `=` in a bare value, dotted keys and JSON are not plain.
  assert.deepEqual(
    rows.filter((row) => row.plain === 0).map((row) => row.body),
    [
      'pa.th=/g duration=1ms',
      'path=/h\tduration=2ms',
      'path=/i duration=3ms x="a\\"b"',
      'path=/ü duration=4ms',
      'path=/q duration=5ms=6',
      'path==x duration=12ms',
      'path=/v "duration"=16ms',
      '{"duration":"1s","path":"/json"}',
      'path=/mesh\tduration=19ms',
    ],
  );
  for (const row of plain) {
    const decoded = decodeLogfmt(row.body);
    assert.equal(decoded.error, undefined, row.body);
    const first = decoded.pairs.find((pair) => pair.key === 'path' && pair.value !== undefined)?.value ?? '';
    assert.equal(row.path, first, row.body);
  }
});

test('on 3,000 random lines of logfmt-like text, every line ClickHouse calls plain decodes without error to the values it extracts', async () => {
  const { logfmtValuePattern, plainLogfmtLinePattern } = await import('../../../src/query/logql/logfmtSampleSql.js');
  const { decodeLogfmt, sanitizeLabelKey } = await import('../../../src/query/logql/logfmtDecoder.js');
  // A fixed-seed generator: the same lines on every run, so a failure can be replayed.
  let seed = 26;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  const pieces = ['a', 'b_c', 'ab', 'b', 'c', '=', '"', ' ', '  ', '\\', '\t', 'x', '1', '.', '-', 'é', '=x', '="q r"', 'a=', 'b_c='];
  const lines = Array.from({ length: 3000 }, () => Array.from({ length: 1 + random(10) }, () => pieces[random(pieces.length)]).join(''));
  const result = await storage.client.query({
    query: `SELECT line, match(line, {plain:String}) AS plain,
        trim(BOTH '"' FROM extract(line, {a:String})) AS a, trim(BOTH '"' FROM extract(line, {bc:String})) AS bc
      FROM (SELECT arrayJoin({lines:Array(String)}) AS line)`,
    query_params: { lines, plain: plainLogfmtLinePattern, a: logfmtValuePattern('a'), bc: logfmtValuePattern('b_c') },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ line: string; plain: number; a: string; bc: string }>();
  const plain = rows.filter((row) => row.plain === 1);
  // The generator must produce both kinds, or the test proves nothing.
  assert.ok(plain.length > 300 && plain.length < rows.length - 300, `${plain.length} plain lines of ${rows.length}`);
  for (const row of plain) {
    const decoded = decodeLogfmt(row.line);
    assert.equal(decoded.error, undefined, row.line);
    // As the engine's | logfmt: keys sanitized to label names, the first non-empty value of each wins.
    const first = (name: string) =>
      decoded.pairs.find((pair) => sanitizeLabelKey(pair.key) === name && pair.value !== undefined)?.value ?? '';
    assert.equal(row.a, first('a'), JSON.stringify(row.line));
    assert.equal(row.bc, first('b_c'), JSON.stringify(row.line));
  }
});
