import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { MetricExpr } from '../../../src/query/logql/ast.js';
import { evaluateMetric } from '../../../src/query/logql/evaluateMetric.js';
import { stepsOf } from '../../../src/query/logql/metricValue.js';
import { defaultQueryLimits, type QueryContext } from '../../../src/query/logql/queryContext.js';
import { parseLogql } from '../../../src/query/logql/parser.js';
import { logQueryRunner } from '../../../src/storage/logs/logQueries.js';
import type { CompiledSql } from '../../../src/storage/sql.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/**
 * Unwrap aggregations grouped `by (…)` that SQL converts, groups and windows
 * (compiler.ts's compileUnwrapWindows) answer exactly as the query engine does with
 * query.pushdown off: fixed-seed random decimals and durations of up to 15 digits,
 * equal timestamps with different values, rows in no window, and a service whose
 * values SQL must not convert itself (exponents, hex, -0, 16 digits, compound
 * durations, an attribute named like __error__), which the engine then answers.
 */
const tenant = 'unwrapwindows';
const secondNs = 1_000_000_000n;
const startNs = 1_767_400_000n * secondNs;
let storage: Storage;

let seed = 23;
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
function randomDecimal(): string {
  const digits = 1 + Math.floor(random() * 15);
  let text = '';
  for (let i = 0; i < digits; i++) text += Math.floor(random() * 10);
  const point = Math.floor(random() * digits);
  const value = point === 0 ? text : `${text.slice(0, point)}.${text.slice(point)}`;
  // -0 is the mixed service's case: SQL leaves it to the engine.
  return random() < 0.2 && /[1-9]/.test(value) ? `-${value}` : value;
}
const units = ['ns', 'us', 'µs', 'μs', 'ms', 's', 'm', 'h'];

type Row = { second: number; service: string; body: string; attributes: Record<string, string>; resource?: Record<string, string> };
const rows: Row[] = [];
for (let i = 0; i < 400; i++) {
  const route = pick(['/a', '/b', '/c', '/d', '']);
  const attributes: Record<string, string> = { latency: randomDecimal(), took: `${randomDecimal().replace('-', '')}${pick(units)}` };
  if (route !== '') attributes.route = route;
  // Every fifth row shares its second with the one before: equal times, different values.
  rows.push({
    second: i % 5 === 0 && i > 0 ? rows[i - 1].second : 1 + Math.floor(random() * 115),
    service: 'clean',
    body: `line ${i}`,
    attributes,
  });
  rows.push({
    second: 1 + Math.floor(random() * 115),
    service: 'lfclean',
    // Plain logfmt is printable ASCII: no µs there.
    body: `route=${route === '' ? '""' : route} took=${attributes.took.replace(/[µμ]s$/, 'us')} msg="served ${i}"`,
    attributes: {},
  });
}
// Magnitudes 30 orders apart in one window: a mean or variance folded in any other order than the engine's rounds differently.
for (let i = 0; i < 240; i++) {
  const latency = pick(['123456789012345', '999999999999.999', '0.00000000000001', '1.5', '98765.4321', '0.1', '33333333333333.3']);
  rows.push({
    second: 1 + Math.floor(random() * 115),
    service: 'wide',
    body: `wide ${i}`,
    attributes: { latency, route: pick(['/x', '/y']) },
  });
}
// Integers, one series per row (n), summed exactly in any order; and 15-digit ones whose windows pass 2^53, which SQL leaves to the engine.
for (let i = 0; i < 200; i++) {
  const latency = String(Math.floor(random() * 2_000_001) - 1_000_000);
  rows.push({
    second: 1 + Math.floor(random() * 115),
    service: 'ints',
    body: `ints ${i}`,
    attributes: { latency, route: pick(['/p', '/q']), n: `${i}` },
  });
}
for (let i = 0; i < 60; i++) {
  rows.push({
    second: 1 + Math.floor(random() * 115),
    service: 'bigints',
    body: `big ${i}`,
    attributes: { latency: '999999999999999', route: '/z', n: `${i}` },
  });
}
for (const latency of ['1e3', '0x10', ' 5', '-0', '-0.000', '1234567890123456', '5.', 'Infinity', '']) {
  rows.push({ second: 100, service: 'mixed', body: `mixed ${latency}`, attributes: { latency, route: '/m', took: '1h2m' } });
}
rows.push({ second: 101, service: 'mixed', body: 'error key', attributes: { latency: '1', route: '/m', took: '1s', 'x.error': 'y' } });

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-unwrap-windows-'), database: 'meshlog' }, pino({ level: 'silent' }));
  await storage.client.insert({
    table: 'meshlog.logs',
    values: rows.map((row) => ({
      tenant,
      timestamp: `${startNs / secondNs + BigInt(row.second)}.000000000`,
      observed_timestamp: `${startNs / secondNs + BigInt(row.second)}.000000000`,
      service_name: row.service,
      body: row.body,
      resource_attributes: { 'service.name': row.service, ...row.resource },
      log_attributes: row.attributes,
    })),
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  // Another tenant's rows under the same services and labels, with values no row of ours has.
  await storage.client.insert({
    table: 'meshlog.logs',
    values: [50, 100, 115].flatMap((second) =>
      ['clean', 'ints'].map((service) => ({
        tenant: 'intruder',
        timestamp: `${startNs / secondNs + BigInt(second)}.000000000`,
        observed_timestamp: `${startNs / secondNs + BigInt(second)}.000000000`,
        service_name: service,
        body: 'line intruder',
        resource_attributes: { 'service.name': service },
        log_attributes: { latency: '999999999999999', route: service === 'clean' ? '/a' : '/p', took: '999h' },
      })),
    ),
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
});
after(async () => {
  await storage.close();
});

async function run(
  query: string,
  pushdown: boolean,
  stepNs: bigint,
  maxEngineRows = defaultQueryLimits.maxEngineRows,
  equalTimesReversed = false,
): Promise<{ result: unknown; plan: string[] }> {
  const read = logQueryRunner(storage, { maxExecutionSeconds: 60 });
  // ClickHouse's rows as it may also return them: those of one timestamp in the other order.
  const reversed: QueryContext['runner'] = {
    async run<T>(compiled: CompiledSql): Promise<T[]> {
      const rows = (await read.run<T & { ts?: string }>(compiled)).map((row, index) => ({ row, index }));
      rows.sort((a, b) => (a.row.ts === b.row.ts ? b.index - a.index : a.index - b.index));
      return rows.map(({ row }) => row);
    },
  };
  const ctx: QueryContext = {
    database: 'meshlog',
    tenant,
    runner: equalTimesReversed ? reversed : read,
    limits: { ...defaultQueryLimits, pushdown, maxEngineRows },
    plan: [],
    rowsRead: 0,
    bytesRead: 0,
  };
  const endNs = startNs + 120n * secondNs;
  const steps = stepNs === 0n ? stepsOf(endNs, endNs, secondNs, defaultQueryLimits) : stepsOf(startNs, endNs, stepNs, defaultQueryLimits);
  try {
    const result = await evaluateMetric(parseLogql(query) as MetricExpr, ctx, steps);
    // Series in label order, as the API answers them: the engine meets series of equal first times in either order.
    if (result.kind === 'vector') result.series.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
    return {
      result: JSON.parse(JSON.stringify(result, (_, value) => (value instanceof Float64Array ? [...value] : value))),
      plan: ctx.plan,
    };
  } catch (error) {
    return { result: { error: (error as Error).message }, plan: ctx.plan };
  }
}

const clean = '{service_name="clean"}';
const logfmt = '{service_name="lfclean"} | logfmt';
const wide = '{service_name="wide"}';
/** [query, whether SQL windows it ('instant': only an instant query, one window per row)] */
const cases: [string, boolean | 'instant'][] = [
  [`avg_over_time(${clean} | unwrap latency [30s]) by (route)`, true],
  [`min_over_time(${clean} | unwrap latency [30s]) by (route)`, true],
  [`max_over_time(${clean} | unwrap latency [2m]) by (route, service_name)`, true],
  [`quantile_over_time(0.9, ${clean} | unwrap latency [30s]) by (route)`, true],
  [`quantile_over_time(0.5, ${clean} |= "line" | unwrap duration(took) | __error__="" [1m]) by (route)`, true],
  [`stddev_over_time(${clean} | unwrap duration(took) [30s]) by (route)`, true],
  [`stdvar_over_time(${clean} | unwrap latency [5s]) by (route)`, true],
  [`first_over_time(${clean} | unwrap latency [30s]) by (route)`, true],
  [`last_over_time(${clean} | unwrap latency [30s]) by (route)`, true],
  [`avg_over_time(${clean} | route="/a" | unwrap latency [30s]) by (latency, route)`, true],
  [`max_over_time(${clean} | unwrap latency [30s]) by (nothing)`, true],
  [`avg_over_time(${logfmt} | unwrap duration(took) | __error__="" [30s]) by (route)`, true],
  [`quantile_over_time(0.99, ${logfmt} | unwrap duration(took) | __error__="" [1m]) by (route, msg)`, true],
  [`sum by (route) (max_over_time(${clean} | unwrap latency [30s]) by (route))`, true],
  [`avg_over_time(${wide} | unwrap latency [1m]) by (route)`, true],
  [`stdvar_over_time(${wide} | unwrap latency [1m]) by (route)`, true],
  [`stddev_over_time(${wide} | unwrap latency [2m]) by (route)`, true],
  [`quantile_over_time(0.37, ${wide} | unwrap latency [1m]) by (route)`, true],
  [`first_over_time(${wide} | unwrap latency [1m]) by (route)`, true],
  [`last_over_time(${wide} | unwrap latency [1m]) by (route)`, true],
  [`min_over_time(${wide} | unwrap latency [1m]) by (route)`, true],
  // φ at the ends, and one of 15 digits: the interpolation's weights 0 and 1 and an exact decimal φ.
  [`quantile_over_time(0, ${clean} | unwrap latency [30s]) by (route)`, true],
  [`quantile_over_time(1, ${clean} | unwrap latency [30s]) by (route)`, true],
  [`quantile_over_time(0.12345678901234, ${clean} | unwrap latency [30s]) by (route)`, true],
  // φ SQL does not build as JavaScript parses it (16 digits) or outside [0, 1] (±Inf): the engine interpolates.
  [`quantile_over_time(0.1234567890123456, ${clean} | unwrap latency [30s]) by (route)`, true],
  [`quantile_over_time(1.5, ${clean} | unwrap latency [30s]) by (route)`, true],
  [`quantile_over_time(-0.5, ${clean} | unwrap latency [30s]) by (route)`, true],
  // A range of 64 steps (each row in up to 64 windows) and one past it, and an instant over every row since 1970.
  [`avg_over_time(${clean} | unwrap latency [640s]) by (route)`, true],
  [`avg_over_time(${clean} | unwrap latency [641s]) by (route)`, 'instant'],
  [`avg_over_time(${wide} | unwrap latency [100000d]) by (route)`, 'instant'],
  // Not windowed in SQL: bytes(), without, no grouping, a filter after unwrap that drops clean samples, a masked-value-free but unvouched service.
  [`max_over_time(${clean} | unwrap bytes(latency) | __error__="" [30s]) by (route)`, false],
  [`max_over_time(${clean} | unwrap latency [30s]) without (route)`, false],
  [`sum_over_time(${clean} | unwrap latency [30s])`, false],
  [`max_over_time(${clean} | unwrap latency | __error__!="" [30s]) by (route)`, false],
  [`max_over_time({service_name="mixed"} | unwrap latency | __error__="" [30s]) by (route)`, false],
  [`max_over_time({service_name="mixed"} | unwrap latency [30s]) by (route)`, false],
  [`max_over_time({service_name="mixed"} | unwrap duration(took) | __error__="" [30s]) by (route)`, false],
  [`max_over_time(${clean} | unwrap latency [30s]) by (detected_level)`, false],
  // A sum by (…) of integer sums: one number per (group, window) from SQL, exact in any order; not past 2^53, nor of decimals, nor without a by.
  [`sum by (route) (sum_over_time({service_name="ints"} | unwrap latency [30s]))`, true],
  [`sum by (route, service_name) (sum_over_time({service_name="ints"} | unwrap latency [2m]))`, true],
  [`sum by (route) (sum_over_time({service_name="ints"} | unwrap latency [30s] offset 20s))`, true],
  [`sum by (route) (sum_over_time({service_name="bigints"} | unwrap latency [30s]))`, false],
  [`sum(sum_over_time({service_name="ints"} | unwrap latency [30s]))`, false],
  [`sum without (route) (sum_over_time({service_name="ints"} | unwrap latency [30s]))`, false],
  // Left to the engine (docs/querying.md says why): without, sums, rates and vector aggregations over them,
  // over values many magnitudes apart and series whose first rows share a time (every clean row is a series).
  [`avg_over_time(${wide} | unwrap latency [1m]) without (route)`, false],
  [`stddev_over_time(${clean} | unwrap duration(took) [30s]) without (service_name)`, false],
  [`sum_over_time(${clean} | unwrap duration(took) [1m])`, false],
  [`sum by (route) (sum_over_time(${wide} | unwrap latency [1m]))`, false],
  [`sum(sum_over_time(${wide} | unwrap latency [2m]))`, false],
  [`sum without (route) (sum_over_time(${clean} | unwrap latency [30s]))`, false],
  [`rate(${wide} | unwrap latency [1m])`, false],
  [`sum by (route) (rate(${clean} | unwrap latency [30s]))`, false],
  [`rate_counter(${clean} | unwrap latency [30s])`, false],
  [`sum(rate_counter(${wide} | unwrap latency [1m]))`, false],
  [`topk(2, sum by (route) (sum_over_time(${clean} | unwrap latency [30s])))`, false],
  [`bottomk(1, sum_over_time(${wide} | unwrap latency [1m]))`, false],
];

test('unwrap aggregations windowed in SQL give the engine path results exactly, and the engine answers what SQL cannot vouch for', async () => {
  const failures: string[] = [];
  for (const stepNs of [0n, 10n * secondNs]) {
    for (const [query, windowed] of cases) {
      const engine = await run(query, false, stepNs);
      const pushed = await run(query, true, stepNs);
      try {
        assert.deepEqual(pushed.result, engine.result, `${query} (step ${stepNs}): results differ`);
        const expected = windowed === 'instant' ? stepNs === 0n : windowed;
        assert.ok(!('error' in (engine.result as object)) || !expected, `${query}: ${JSON.stringify(engine.result).slice(0, 300)}`);
        assert.equal(
          pushed.plan.some((step) => /windowed in SQL/.test(step)),
          expected,
          `${query} (step ${stepNs}): plan ${pushed.plan.join('; ')}`,
        );
        assert.ok(!engine.plan.some((step) => /windowed in SQL/.test(step)), `${query}: pushdown off windowed in SQL`);
        // min, max, first, last and a quantile of a φ in [0, 1] of at most 15 digits are computed in SQL; the folds by the engine.
        const inSql = /\b(min|max|first|last|sum)_over_time|\bquantile_over_time\((0|1|0\.[0-9]{1,14}),/.test(query);
        if (expected)
          assert.equal(
            pushed.plan.some((step) => /computed per window in SQL/.test(step)),
            inSql,
            `${query} (step ${stepNs}): plan ${pushed.plan.join('; ')}`,
          );
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  }
  assert.deepEqual(failures, []);
});

test('rows of equal times in another order fold alike: series in order of their first sample, then of their labels', async () => {
  // Every clean row is a series of its own (its took value) and every fifth shares its time with the one before.
  for (const query of [
    `sum(sum_over_time(${clean} | unwrap latency [30s]))`,
    `sum by (route) (rate(${clean} | unwrap latency [1m]))`,
    `avg(last_over_time(${clean} | unwrap latency [30s]))`,
  ]) {
    const asRead = await run(query, false, 10n * secondNs);
    assert.ok(!('error' in (asRead.result as object)), JSON.stringify(asRead.result).slice(0, 200));
    assert.deepEqual((await run(query, false, 10n * secondNs, undefined, true)).result, asRead.result, query);
  }
});

test('the clean and wide services have series with values in most windows (the comparison above compares numbers, not empty answers)', async () => {
  type Answer = { series: { labels: Record<string, string>; values: (number | null)[] }[] };
  const { result } = await run(`avg_over_time(${clean} | unwrap latency [30s]) by (route)`, true, 10n * secondNs);
  assert.equal((result as Answer).series.length, 5);
  // The wide service's windows hold dozens of values each: the order of a fold shows in its rounding.
  const wideAnswer = await run(`avg_over_time(${wide} | unwrap latency [1m]) by (route)`, true, 10n * secondNs);
  assert.equal((wideAnswer.result as Answer).series.length, 2);
  const intsAnswer = await run(`sum by (route) (sum_over_time({service_name="ints"} | unwrap latency [30s]))`, true, 10n * secondNs);
  assert.equal((intsAnswer.result as Answer).series.length, 2);
  for (const one of [...(result as Answer).series, ...(wideAnswer.result as Answer).series, ...(intsAnswer.result as Answer).series])
    assert.ok(one.values.filter((value) => value !== null).length >= 8, JSON.stringify(one));
});

test("another tenant's rows under the same service and labels never reach a window SQL computes", async () => {
  const { result, plan } = await run(`max_over_time(${clean} | unwrap latency [2m]) by (route)`, true, 10n * secondNs);
  assert.ok(
    plan.some((step) => /windowed in SQL/.test(step)),
    plan.join('; '),
  );
  const values = (result as { series: { values: (number | null)[] }[] }).series.flatMap((one) => one.values);
  assert.ok(values.some((value) => value !== null));
  assert.ok(!values.includes(999999999999999), JSON.stringify(result).slice(0, 300));
});

test("another tenant's rows under the same service and labels never reach a sum SQL computes", async () => {
  const { result, plan } = await run(`sum by (route) (sum_over_time({service_name="ints"} | unwrap latency [2m]))`, true, 10n * secondNs);
  assert.ok(
    plan.some((step) => /computed per window in SQL/.test(step)),
    plan.join('; '),
  );
  // Our values are within ±10^6, 200 of them: an intruder's 999999999999999 would show.
  const values = (result as { series: { values: (number | null)[] }[] }).series.flatMap((one) => one.values);
  assert.ok(values.some((value) => value !== null));
  assert.ok(
    values.every((value) => value === null || Math.abs(value) <= 200_000_000),
    JSON.stringify(result).slice(0, 300),
  );
});

test('an unwrap aggregation over more rows than the engine row limit is refused on the SQL path as on the engine path', async () => {
  // [2m] holds every clean row at an instant and at every step.
  const query = `max_over_time(${clean} | unwrap latency [2m]) by (route)`;
  const cleanRows = rows.filter((row) => row.service === 'clean').length;
  for (const stepNs of [0n, 10n * secondNs]) {
    for (const pushdown of [true, false]) {
      const refused = await run(query, pushdown, stepNs, cleanRows - 1);
      assert.match(
        (refused.result as { error?: string }).error ?? JSON.stringify(refused.result).slice(0, 200),
        new RegExp(`needs more than ${cleanRows - 1} rows`),
        `pushdown ${pushdown}, step ${stepNs}`,
      );
    }
    // At the limit itself SQL windows the query: the count above is of rows, not windows.
    const answered = await run(query, true, stepNs, cleanRows);
    assert.ok(!('error' in (answered.result as object)), JSON.stringify(answered.result).slice(0, 200));
    assert.ok(
      answered.plan.some((step) => /windowed in SQL/.test(step)),
      answered.plan.join('; '),
    );
  }
});

test('a step count past the points limit is refused before SQL reads a row, with pushdown on as off', async () => {
  for (const pushdown of [true, false]) {
    const ctx: QueryContext = {
      database: 'meshlog',
      tenant,
      runner: {
        run: () => {
          throw new Error('no statement may run');
        },
      },
      limits: { ...defaultQueryLimits, pushdown },
      plan: [],
      rowsRead: 0,
      bytesRead: 0,
    };
    await assert.rejects(
      async () =>
        evaluateMetric(
          parseLogql(`avg_over_time(${clean} | unwrap latency [30s]) by (route)`) as MetricExpr,
          ctx,
          stepsOf(startNs, startNs + 120n * secondNs, 1_000_000n, defaultQueryLimits),
        ),
      /exceeded maximum resolution of 11000 points/,
    );
  }
});
