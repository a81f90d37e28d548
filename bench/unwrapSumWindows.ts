/**
 * `sum by (…) (sum_over_time(… | unwrap …))` summed per (group, window) in SQL against the
 * engine path, in process over the same synthetic mesh rows, pushdown on and off alternating
 * run by run so that both see the same load. Prints p50 per path, their ratio and the rows
 * each brought back.
 *
 *   ROWS=1000000 RUNS=5 node dist/bench/unwrapSumWindows.js
 */
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pino } from 'pino';
import type { MetricExpr } from '../src/query/logql/ast.js';
import { evaluateMetric } from '../src/query/logql/evaluateMetric.js';
import { stepsOf } from '../src/query/logql/metricValue.js';
import { defaultQueryLimits, type QueryContext } from '../src/query/logql/queryContext.js';
import { parseLogql } from '../src/query/logql/parser.js';
import { logQueryRunner } from '../src/storage/logs/logQueries.js';
import { Storage } from '../src/storage/engine/storage.js';
import { insertSyntheticMeshLogs } from './syntheticMeshLogs.js';
import { tempDataDir } from '../test/support/meshlogProcess.js';

const rows = Number(process.env.ROWS ?? 1_000_000);
const runs = Number(process.env.RUNS ?? 5);
const tenant = 'bench';
const endNs = (BigInt(Date.now()) / 60_000n) * 60_000_000_000n;
const startNs = endNs - 86_400_000_000_000n;
const hourAgoNs = endNs - 3_600_000_000_000n;
const stepNs = 300_000_000_000n;
const queries = [
  'sum by (http_route) (sum_over_time({service_name="checkout"} | unwrap duration_ms [5m]))',
  'sum by (service_name) (sum_over_time({k8s_namespace_name="identity"} | unwrap duration_ms [1h]))',
];
const median = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];

const dataDir = tempDataDir('meshlog-bench-unwrap-sum-');
try {
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, pino({ level: 'warn' }));
  try {
    await insertSyntheticMeshLogs(storage, { tenant, rows, startNs, endNs, traceCount: 200_000 }, 0, rows);
    const runner = logQueryRunner(storage, { maxExecutionSeconds: 300 });
    const run = async (query: string, pushdown: boolean) => {
      const ctx: QueryContext = {
        database: 'meshlog',
        tenant,
        runner,
        limits: { ...defaultQueryLimits, pushdown },
        plan: [],
        rowsRead: 0,
        bytesRead: 0,
      };
      const started = performance.now();
      await evaluateMetric(parseLogql(query) as MetricExpr, ctx, stepsOf(hourAgoNs, endNs, stepNs, defaultQueryLimits));
      return {
        ms: performance.now() - started,
        rowsBack: ctx.rowsRead,
        sql: ctx.plan.some((step) => /computed per window in SQL/.test(step)),
      };
    };
    for (const query of queries) {
      const times = { on: [] as number[], off: [] as number[] };
      let back = '';
      for (let k = 0; k < runs; k++) {
        const on = await run(query, true);
        const off = await run(query, false);
        times.on.push(on.ms);
        times.off.push(off.ms);
        back = `rows back ${off.rowsBack} → ${on.rowsBack}${on.sql ? '' : ' (not summed in SQL)'}`;
      }
      const [off, on] = [median(times.off), median(times.on)];
      console.log(`${query}: p50 engine ${off.toFixed(0)} ms → SQL ${on.toFixed(0)} ms (${(on / off).toFixed(2)}), ${back}`);
    }
  } finally {
    await storage.close();
  }
} finally {
  // The data directory and the key files beside it (<dir>-storage.keys…).
  rmSync(dataDir, { recursive: true, force: true });
  for (const name of readdirSync(dirname(dataDir)))
    if (name.startsWith(`${basename(dataDir)}-`)) rmSync(join(dirname(dataDir), name), { force: true });
}
