import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { CompiledSql } from '../../../src/storage/sql.js';
import { defaultQueryLimits, type QueryContext } from '../../../src/query/logql/queryContext.js';
import { logQueryRunner } from '../../../src/storage/logs/logQueries.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';
import { answerLogql, pushdownFailures, type LogqlAnswer } from '../../support/pushdownComparison.js';

/**
 * query.pushdown on and off give the same answers over lines written to trip
 * the SQL side: escaped, duplicated, nested and quoted keys, numbers as strings,
 * stream labels named like parsed ones, broken JSON. Each query runs through the
 * real engine over real embedded ClickHouse both ways; results (or the error)
 * must be identical, and pushdown must read fewer rows where it claims to.
 */
const tenant = 'pushdown';
const secondNs = 1_000_000_000n;
const startNs = 1_767_200_000n * secondNs;
let storage: Storage;

const jsonLines = [
  '{"status":503,"path":"/a"}',
  '{"status":200,"path":"/b"}',
  '{"status":"503"}',
  '{"st\\u0061tus":503}',
  '{"status":200,"status":503}',
  '{"a":{"status":1}}',
  '{"status":5e2}',
  '{"status":1e400}',
  '{"status":-0}',
  '{"status":true}',
  '{"status":null}',
  '{"status":" 0x1F5 "}',
  '{"status":[503]}',
  '{"status":{"code":503}}',
  'not json status=503',
  '{"status":503',
  '[{"status":503}]',
  '{"user":{"id":"alice"}}',
  '{"user.id":"alice"}',
  '{"user-id":"bob"}',
  '{"user":{"name":"x","id":"carol"}}',
  '{"msg":"status","code":1}',
  '{"latency":"250ms","size":"1.5KB"}',
  // JSON whitespace before the object is allowed, a byte-order mark or a line of logfmt is not.
  ' \t\r\n{"status":504}',
  '\uFEFF{"status":505}',
  'level=info status=506',
];
const logfmtLines = [
  'level=info duration=5ms user_id=7',
  'dur"ation"=7s',
  'd\\xuration=9ms',
  '"duration"=3s',
  'msg="x duration=2s"',
  'duration',
  'duration=',
  'user.id=alice took=1s',
  'user id=bob',
  'other=1 durations=4s',
  '{"duration":"1s"}',
];

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-pushdown-'), database: 'meshlog' }, pino({ level: 'silent' }));
  const rows = [
    ...jsonLines.map((body) => ({ service: 'json', body, resource: {} as Record<string, string> })),
    // A stream label named like a parsed one: the parsed value becomes status_extracted.
    { service: 'json', body: '{"status":200}', resource: { status: '503' } },
    ...logfmtLines.map((body) => ({ service: 'logfmt', body, resource: {} as Record<string, string> })),
    { service: 'logfmt', body: 'took=1s', resource: { duration: '8s' } },
  ];
  const values = rows.map((row, index) => ({
    tenant,
    timestamp: `${startNs / secondNs + BigInt(index + 1)}.000000000`,
    observed_timestamp: `${startNs / secondNs + BigInt(index + 1)}.000000000`,
    service_name: row.service,
    body: row.body,
    resource_attributes: { 'service.name': row.service, ...row.resource },
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

const compiledSql: CompiledSql[] = [];

async function run(query: string, pushdown: boolean): Promise<LogqlAnswer> {
  const base = logQueryRunner(storage, { maxExecutionSeconds: 60 });
  const ctx: QueryContext = {
    database: 'meshlog',
    tenant,
    runner: { run: <T>(compiled: CompiledSql) => (compiledSql.push(compiled), base.run<T>(compiled)) },
    limits: { ...defaultQueryLimits, pushdown },
    plan: [],
    rowsRead: 0,
    bytesRead: 0,
  };
  return answerLogql(query, ctx, { startNs, endNs: startNs + 120n * secondNs }, 1000);
}

/** [query, whether pushdown must read fewer rows] */
const cases: [string, boolean][] = [
  ['{service_name="json"} | json | status >= 500', true],
  ['{service_name="json"} | json | status == 503', true],
  ['{service_name="json"} | json | status != 200', true],
  ['{service_name="json"} | json | status < 0', true],
  ['{service_name="json"} | json | status > 100 or path="/b"', true],
  ['{service_name="json"} | json | status >= 500 | __error__=""', true],
  ['{service_name="json"} | json | status_extracted="200"', false],
  ['{service_name="json"} | json | user_id="alice"', true],
  ['{service_name="json"} | json | user_id=~"a.*|c.*|b.*"', true],
  ['{service_name="json"} | json | user_id=""', false],
  ['{service_name="json"} | json | latency > 100ms', true],
  ['{service_name="json"} | json | size > 1KB', true],
  ['{service_name="json"} |= "status" | json | status > 0, path!=""', true],
  ['{service_name="logfmt"} | logfmt | duration > 1ms', true],
  ['{service_name="logfmt"} | logfmt | user_id!=""', true],
  ['{service_name="logfmt"} | logfmt | duration=""', false],
  ['sum by (status) (count_over_time({service_name="json"} | json | status >= 500 [5m]))', true],
  ['quantile_over_time(0.5, {service_name="logfmt"} | logfmt | unwrap duration(duration) | __error__="" [5m])', true],
  ['sum_over_time({service_name="logfmt"} | logfmt | unwrap duration(duration) [5m])', true],
  ['max_over_time({service_name="json"} | json | unwrap status | __error__="" [5m]) by (path)', true],
];

test('json and logfmt label filters and unwrap give the same results with query.pushdown on and off, over lines built to trip SQL', async () => {
  const failures = await pushdownFailures(cases, run, (pushed, engine, [query, fewer]) => {
    if (!fewer) return;
    assert.ok(pushed.rowsRead < engine.rowsRead, `${query}: pushdown read ${pushed.rowsRead} rows, the engine path ${engine.rowsRead}`);
    assert.ok(
      pushed.plan.some((step) => /necessary condition/.test(step)),
      `${query}: plan ${pushed.plan.join('; ')}`,
    );
  });
  assert.deepEqual(failures, []);
});

test('a trace id lookup finds the same lines by the trace_rows projection as by scanning, and ClickHouse reads the projection for it', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const values = ['json', 'logfmt', 'json'].map((service, index) => ({
    tenant,
    timestamp: `${startNs / secondNs + 60n + BigInt(index)}.000000000`,
    observed_timestamp: `${startNs / secondNs + 60n + BigInt(index)}.000000000`,
    service_name: service,
    body: `traced line ${index}`,
    resource_attributes: { 'service.name': service },
    trace_id: index === 1 ? 'ffffffffffffffffffffffffffffffff' : traceId,
  }));
  await storage.client.insert({
    table: 'meshlog.logs',
    values,
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  const query = `{service_name=~".+"} | trace_id="${traceId}"`;
  const engine = await run(query, false);
  const pushed = await run(query, true);
  assert.deepEqual(pushed.result, engine.result);
  assert.deepEqual(JSON.stringify(engine.result).match(/traced line \d/g), ['traced line 2', 'traced line 0']);
  assert.ok(
    pushed.plan.some((step) => /trace_rows projection/.test(step)),
    pushed.plan.join('; '),
  );
  // The lookup's subquery, as the compiler writes it (EXPLAIN does not expand IN subqueries).
  const compiled = [...compiledSql].reverse().find((c) => c.sql.includes('trace_id = '))!;
  const subquery = /IN \((SELECT tenant, service_name, timestamp FROM [\s\S]*)\)/.exec(compiled.sql)![1];
  const explain = await storage.client.query({
    query: `EXPLAIN projections = 1 ${subquery}`,
    query_params: compiled.params,
    format: 'TabSeparatedRaw',
  });
  assert.match(await explain.text(), /trace_rows/);
});
