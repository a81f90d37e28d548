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

const secondNs = 1_000_000_000n;
const msNs = 1_000_000n;

/** Each query of `cases` (but the 1-minute windows) over [from, to] at `step` gives what reading every row gives; returns their plans. */
async function checkOffMinute(
  from: bigint,
  to: bigint,
  step: bigint,
  // Not the 1-minute windows: off the minute, every one of their bounds cuts a minute, and such queries read rows.
  pairs = cases.filter(([query]) => !query.includes('[1m]')),
): Promise<string[][]> {
  const plans: string[][] = [];
  for (const [query, reference] of pairs) {
    const viaMinutes = await evaluate(query, from, to, step);
    assert.ok(
      viaMinutes.plan.some((line) => /per-minute counts/.test(line)) && viaMinutes.plan.some((line) => /cut by window bounds/.test(line)),
      `${query}: ${viaMinutes.plan.join('; ')}`,
    );
    const viaRows = await evaluate(reference, from, to, step);
    assert.ok(viaRows.series.length > 0, reference);
    assert.deepEqual(plain(viaMinutes.series), plain(viaRows.series), `${query} from ${from} to ${to} step ${step}`);
    plans.push(viaMinutes.plan);
  }
  return plans;
}

test('off the minute and at instants, per-minute counts plus the rows of the minutes a window bound cuts give exactly the counts of every row', async () => {
  // [from, to, step]: a range one second off the minute, an instant off the minute, a 10-minute step 7 s off the minute.
  const ranges: [bigint, bigint, bigint][] = [
    [startNs + 80n * minuteNs + secondNs, startNs + 120n * minuteNs + secondNs, 5n * minuteNs],
    [startNs + 100n * minuteNs + 17n * secondNs, startNs + 100n * minuteNs + 17n * secondNs, 5n * minuteNs],
    [startNs + 60n * minuteNs + 7n * secondNs, startNs + 119n * minuteNs + 7n * secondNs, 10n * minuteNs],
  ];
  for (const [from, to, step] of ranges) await checkOffMinute(from, to, step);
});

test('a progression of bounds off the minute reads only the rows on the smaller side of each bound, from the cycle_positions projection, and gives exactly the counts of every row', async () => {
  // Too many bounds to list (more than 16), each cutting its minute at the same place: rows every half second sit on some bounds.
  // Ranges may start before the rows do (minute 0): bounds there cut minutes without rows.
  const fiveMinutes = cases.filter(([query]) => query.includes('[5m]'));
  const byService = (range: string): [string, string] => [
    `sum by (service_name) (count_over_time({k8s_namespace_name=~".+"}[${range}]))`,
    `sum by (service_name) (count_over_time({k8s_namespace_name=~".+"} |= "" [${range}]))`,
  ];
  const ranges: [string, bigint, bigint, bigint, [string, string][]][] = [
    [
      '13 s past the minute (rows before the bound read)',
      10n * minuteNs + 13n * secondNs,
      115n * minuteNs + 13n * secondNs,
      5n * minuteNs,
      fiveMinutes,
    ],
    [
      '47.5 s past (rows after the bound read)',
      10n * minuteNs + 47_500n * msNs,
      115n * minuteNs + 47_500n * msNs,
      5n * minuteNs,
      fiveMinutes,
    ],
    [
      "Grafana's millisecond bounds, 13.251 s past",
      10n * minuteNs + 13_251n * msNs,
      115n * minuteNs + 13_251n * msNs,
      5n * minuteNs,
      fiveMinutes,
    ],
    ['30 s past, both sides alike', 10n * minuteNs + 30n * secondNs, 115n * minuteNs + 30n * secondNs, 5n * minuteNs, fiveMinutes],
    [
      'a 10-minute width 41 s past (two minutes of each 10 share a place in the cycle)',
      41n * secondNs - 62n * minuteNs,
      118n * minuteNs + 41n * secondNs,
      10n * minuteNs,
      [byService('10m')],
    ],
    [
      'a 3-minute width 29.999 s past (every place of the cycle)',
      29_999n * msNs - 30n * minuteNs,
      117n * minuteNs + 29_999n * msNs,
      3n * minuteNs,
      [byService('3m')],
    ],
  ];
  for (const [name, from, to, step, pairs] of ranges) {
    const plans = await checkOffMinute(startNs + from, startNs + to, step, pairs);
    assert.ok(
      plans.every((plan) => plan.some((line) => /only the rows on the smaller side/.test(line))),
      `${name}: ${plans.map((plan) => plan.join('; ')).join(' | ')}`,
    );
  }
  const compiled = [...compiledSql].reverse().find((c) => c.sql.includes('ARRAY JOIN') && !c.sql.includes('length(body)'))!;
  const explain = await storage.client.query({
    query: `EXPLAIN projections = 1 ${compiled.sql}`,
    query_params: compiled.params,
    format: 'TabSeparatedRaw',
  });
  const text = await explain.text();
  assert.match(text, /ReadFromMergeTree \(minute_counts\)/);
  // At these few rows (one granule) the table itself is as cheap: ClickHouse names the projection as usable; at 10M rows it reads it (docs/benchmarks.md).
  assert.match(text, /cycle_positions/);
});

test('windows shorter than a minute and steps that do not divide a minute give exactly the counts of every row', async () => {
  const pairs: [string, string, bigint][] = [
    [
      'sum by (service_name) (count_over_time({k8s_namespace_name=~".+"}[30s]))',
      'sum by (service_name) (count_over_time({k8s_namespace_name=~".+"} |= "" [30s]))',
      5n * minuteNs,
    ],
    [
      'sum by (detected_level) (rate({service_name="cart"}[5m]))',
      'sum by (detected_level) (rate({service_name="cart"} |= "" [5m]))',
      90n * secondNs,
    ],
    [
      'sum by (service_name) (count_over_time({k8s_namespace_name="shop"}[2m]))',
      'sum by (service_name) (count_over_time({k8s_namespace_name="shop"} |= "" [2m]))',
      45n * secondNs,
    ],
  ];
  for (const [query, reference, step] of pairs) {
    const [from, to] = [startNs + 20n * minuteNs + 13_251n * msNs, startNs + 110n * minuteNs + 13_251n * msNs];
    const viaMinutes = await evaluate(query, from, to, step);
    const viaRows = await evaluate(reference, from, to, step);
    assert.ok(viaRows.series.length > 0, reference);
    assert.deepEqual(plain(viaMinutes.series), plain(viaRows.series), `${query} step ${step}`);
  }
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
  // The cycle_positions projection is rebuilt too: the rows on the smaller side of each bound are counted only where they remain.
  await checkOffMinute(startNs + 10n * minuteNs + 13n * secondNs, startNs + 115n * minuteNs + 13n * secondNs, 5n * minuteNs);
});

test("another tenant's rows in the same minutes reach neither the per-minute counts nor the cut minutes' rows", async () => {
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
