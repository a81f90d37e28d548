import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { MetricExpr } from '../../../src/query/logql/ast.js';
import { evaluateMetric } from '../../../src/query/logql/evaluateMetric.js';
import { stepsOf, type Series } from '../../../src/query/logql/metricValue.js';
import { defaultQueryLimits, type QueryContext } from '../../../src/query/logql/queryContext.js';
import { parseLogql } from '../../../src/query/logql/parser.js';
import type { CompiledSql } from '../../../src/storage/sql.js';
import { logQueryRunner } from '../../../src/storage/logs/logQueries.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { insertSyntheticMeshLogs } from '../../../bench/syntheticMeshLogs.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/**
 * Range aggregations that the per-minute counts (projection minute_counts,
 * migration 19) can answer give exactly what reading every row gives: the same
 * query with `|= ""` (a filter that keeps every line but that the projection
 * cannot answer) is the reference. Rows fall every half second, so some sit
 * exactly on minute boundaries, where the left-open windows must put them.
 */
const minuteNs = 60_000_000_000n;
const startNs = 29_600_000n * minuteNs;
const tenant = 'minutes';
let storage: Storage;
const compiledSql: CompiledSql[] = [];

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-minute-counts-'), database: 'meshlog' }, pino({ level: 'silent' }));
  await insertSyntheticMeshLogs(storage, { tenant, rows: 14_400, startNs, endNs: startNs + 120n * minuteNs, traceCount: 100 }, 0, 14_400);
});
after(async () => {
  await storage.close();
});

async function evaluate(query: string, from: bigint, to: bigint, step: bigint, as = tenant): Promise<{ series: Series[]; plan: string[] }> {
  const base = logQueryRunner(storage, { maxExecutionSeconds: 60 });
  const ctx: QueryContext = {
    database: 'meshlog',
    tenant: as,
    runner: { run: (compiled) => (compiledSql.push(compiled), base.run(compiled)) },
    limits: defaultQueryLimits,
    plan: [],
    rowsRead: 0,
    bytesRead: 0,
  };
  const value = await evaluateMetric(parseLogql(query) as MetricExpr, ctx, stepsOf(from, to, step, defaultQueryLimits));
  assert.equal(value.kind, 'vector');
  const series = value.kind === 'vector' ? value.series : [];
  series.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
  return { series, plan: ctx.plan };
}

const plain = (series: Series[]) =>
  series.map((s) => ({ labels: s.labels, values: [...s.values].map((v) => (Number.isNaN(v) ? null : v)) }));

const cases: [string, string][] = [
  ['sum by (service_name) (rate({k8s_namespace_name=~".+"}[5m]))', 'sum by (service_name) (rate({k8s_namespace_name=~".+"} |= "" [5m]))'],
  [
    'sum by (detected_level) (count_over_time({service_name="cart"} | drop __error__ [10m]))',
    'sum by (detected_level) (count_over_time({service_name="cart"} |= "" [10m]))',
  ],
  ['sum(bytes_over_time({k8s_namespace_name="shop"}[5m]))', 'sum(bytes_over_time({k8s_namespace_name="shop"} |= "" [5m]))'],
  [
    'sum by (level, service_name) (count_over_time({service_name=~"cart|auth", k8s_namespace_name!="edge"}[1m] offset 2m))',
    'sum by (level, service_name) (count_over_time({service_name=~"cart|auth", k8s_namespace_name!="edge"} |= "" [1m] offset 2m))',
  ],
];

async function checkAll(): Promise<void> {
  for (const [query, reference] of cases) {
    // Steps of 5 minutes from minute 10 to minute 120: every window bound on a minute.
    const viaMinutes = await evaluate(query, startNs + 10n * minuteNs, startNs + 120n * minuteNs, 5n * minuteNs);
    assert.match(viaMinutes.plan.at(-1)!, /per-minute counts/, query);
    const viaRows = await evaluate(reference, startNs + 10n * minuteNs, startNs + 120n * minuteNs, 5n * minuteNs);
    assert.match(viaRows.plan.at(-1)!, /^range aggregation in SQL/, reference);
    assert.ok(viaRows.series.length > 0, reference);
    assert.deepEqual(plain(viaMinutes.series), plain(viaRows.series), query);
  }
}

test('per-minute counts give exactly the counts, rates and bytes of every row, and ClickHouse reads the projection for them', async () => {
  await checkAll();
  const compiled = compiledSql.find((c) => c.sql.includes('intDiv(toUnixTimestamp64Nano(timestamp) - 1, 60000000000)'))!;
  const explain = await storage.client.query({
    query: `EXPLAIN projections = 1 ${compiled.sql}`,
    query_params: compiled.params,
    format: 'TabSeparatedRaw',
  });
  assert.match(await explain.text(), /minute_counts/);
});

test('off the minute and at instants, per-minute counts plus the rows of the minutes a window bound cuts give exactly the counts of every row', async () => {
  const secondNs = 1_000_000_000n;
  // [from, to, step]: a range one second off the minute, an instant off the minute, a 10-minute step 7 s off the minute.
  const ranges: [bigint, bigint, bigint][] = [
    [startNs + 80n * minuteNs + secondNs, startNs + 120n * minuteNs + secondNs, 5n * minuteNs],
    [startNs + 100n * minuteNs + 17n * secondNs, startNs + 100n * minuteNs + 17n * secondNs, 5n * minuteNs],
    [startNs + 60n * minuteNs + 7n * secondNs, startNs + 119n * minuteNs + 7n * secondNs, 10n * minuteNs],
    // 23 bounds 13 s past the minute: too many to list, so every 5th minute is told apart by one condition (last: its SQL is explained below).
    [startNs + 10n * minuteNs + 13n * secondNs, startNs + 115n * minuteNs + 13n * secondNs, 5n * minuteNs],
  ];
  for (const [from, to, step] of ranges) {
    // Not the 1-minute windows: off the minute, every one of their bounds cuts a minute, and such queries read rows.
    for (const [query, reference] of cases.filter(([query]) => !query.includes('[1m]'))) {
      const viaMinutes = await evaluate(query, from, to, step);
      assert.ok(
        viaMinutes.plan.some((line) => /per-minute counts/.test(line)) &&
          viaMinutes.plan.some((line) => /cut by window bounds read as rows/.test(line)),
        `${query}: ${viaMinutes.plan.join('; ')}`,
      );
      const viaRows = await evaluate(reference, from, to, step);
      assert.ok(viaRows.series.length > 0, reference);
      assert.deepEqual(plain(viaMinutes.series), plain(viaRows.series), `${query} from ${from} to ${to} step ${step}`);
    }
  }
  const compiled = [...compiledSql].reverse().find((c) => c.sql.includes('UNION ALL'))!;
  assert.match(compiled.sql, / % \{p\d+:Int64\} = /);
  const explain = await storage.client.query({
    query: `EXPLAIN projections = 1 ${compiled.sql}`,
    query_params: compiled.params,
    format: 'TabSeparatedRaw',
  });
  assert.match(await explain.text(), /minute_counts/);
});

test('rows deleted as erasure and retention delete them (lightweight DELETE) leave the per-minute counts too', async () => {
  const before = await evaluate(cases[0][0], startNs + 10n * minuteNs, startNs + 120n * minuteNs, 5n * minuteNs);
  await storage.client.command({
    query: `DELETE FROM meshlog.logs WHERE tenant = {tenant:String} AND service_name = 'cart' AND timestamp < fromUnixTimestamp64Nano({until:Int64})`,
    query_params: { tenant, until: (startNs + 60n * minuteNs).toString() },
  });
  const after = await evaluate(cases[0][0], startNs + 10n * minuteNs, startNs + 120n * minuteNs, 5n * minuteNs);
  const cart = (series: Series[]) => series.find((s) => s.labels.service_name === 'cart')!.values;
  assert.ok(!Number.isNaN(cart(before.series)[0]) && Number.isNaN(cart(after.series)[0]), 'the deleted rows are no longer counted');
  await checkAll();
});

test("another tenant's rows in the same minutes reach neither the per-minute counts nor the cut minutes' rows", async () => {
  const secondNs = 1_000_000_000n;
  const [from, to, step] = [startNs + 10n * minuteNs + 13n * secondNs, startNs + 115n * minuteNs + 13n * secondNs, 5n * minuteNs];
  const query = 'sum by (service_name) (count_over_time({k8s_namespace_name=~".+"}[5m]))';
  const alone = await evaluate(query, from, to, step);
  const intruder = 'intruder';
  await insertSyntheticMeshLogs(
    storage,
    { tenant: intruder, rows: 7_200, startNs, endNs: startNs + 120n * minuteNs, traceCount: 10 },
    0,
    7_200,
  );
  const theirs = await evaluate(query, from, to, step, intruder);
  assert.ok(
    theirs.series.some((s) => s.values.some((v) => v > 0)),
    'the other tenant has rows in these windows',
  );
  const beside = await evaluate(query, from, to, step);
  assert.ok(
    beside.plan.some((line) => /every 5th minute/.test(line)),
    beside.plan.join('; '),
  );
  assert.deepEqual(plain(beside.series), plain(alone.series));
});
