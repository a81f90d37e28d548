import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { LogQuery } from '../../../src/query/logql/ast.js';
import { compileLogRows, type LogRow } from '../../../src/query/logql/compiler.js';
import { defaultQueryLimits, type QueryContext } from '../../../src/query/logql/queryContext.js';
import { selectStreams } from '../../../src/query/logql/selectStreams.js';
import { parseLogql } from '../../../src/query/logql/parser.js';
import { compilePipeline } from '../../../src/query/logql/pipeline.js';
import { entryLabels } from '../../../src/query/logql/labelSet.js';
import { logQueryRunner } from '../../../src/storage/logs/logQueries.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { insertSyntheticMeshLogs } from '../../../bench/syntheticMeshLogs.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/**
 * Log queries read a long range in time slices, the newest
 * first, and stop at the limit: the lines must be exactly those one query over the
 * whole range returns, in the same order, in either direction, also when the engine
 * filters rows (pages within slices).
 */
const hourNs = 3_600_000_000_000n;
const startNs = 1_795_000_000n * 1_000_000_000n;
const range = { startNs, endNs: startNs + 3n * hourNs };
const tenant = 'sliced-reads';
let storage: Storage;

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-time-slices-'), database: 'meshlog' }, pino({ level: 'silent' }));
  await insertSyntheticMeshLogs(storage, { tenant, rows: 30_000, ...range, traceCount: 1000 }, 0, 30_000);
});
after(async () => {
  await storage.close();
});

const context = (): QueryContext => ({
  database: 'meshlog',
  tenant,
  runner: logQueryRunner(storage, { maxExecutionSeconds: 60 }),
  limits: defaultQueryLimits,
  plan: [],
  rowsRead: 0,
  bytesRead: 0,
});

/** The lines of one query over the whole range, through the engine's own stages, in the direction's order. */
async function reference(log: LogQuery, limit: number, direction: 'forward' | 'backward'): Promise<string[]> {
  const compiled = compileLogRows(log, { database: 'meshlog', tenant, ...range }, { direction, limit: 1_000_000, offset: 0 });
  const pipeline = compilePipeline(compiled.residual);
  const rows = await logQueryRunner(storage, { maxExecutionSeconds: 60 }).run<LogRow>(compiled);
  const lines: string[] = [];
  for (const row of rows) {
    const entry = { timestampNs: row.ts, line: row.body, labels: entryLabels(row) };
    if (pipeline(entry)) lines.push(`${entry.timestampNs} ${entry.line}`);
    if (lines.length === limit) break;
  }
  return lines;
}

test('a log query over several services read in time slices returns exactly what one query over the range returns', async () => {
  const queries = [
    '{k8s_namespace_name="shop"} |~ "status=5[0-9][0-9]"',
    '{service_name=~".+"} |= "timeout"',
    '{k8s_namespace_name="logistics"} | logfmt | status >= 404',
    '{service_name=~"cart|auth"}',
    '{service_name="cart"} |= "served"',
  ];
  for (const query of queries) {
    for (const direction of ['backward', 'forward'] as const) {
      for (const limit of [5, 100, 5000]) {
        const ctx = context();
        const streams = await selectStreams(parseLogql(query) as LogQuery, ctx, range, { limit, direction });
        const order = direction === 'backward' ? -1 : 1;
        const got = streams
          .flatMap((stream) => stream.entries.map(([ts, line]) => `${ts} ${line}`))
          .sort((a, b) =>
            BigInt(a.split(' ')[0]) < BigInt(b.split(' ')[0]) ? -order : BigInt(a.split(' ')[0]) > BigInt(b.split(' ')[0]) ? order : 0,
          );
        const want = await reference(parseLogql(query) as LogQuery, limit, direction);
        assert.ok(want.length > 0, query);
        assert.deepEqual(got, want, `${query} ${direction} limit ${limit}`);
        assert.ok(
          ctx.plan.some((step) => /read in \d+ slices/.test(step)),
          `${query}: read in slices`,
        );
      }
    }
  }
});

test('a trace id lookup is read in one query', async () => {
  for (const query of ['{service_name=~".+"} | trace_id="0000"', '{service_name="cart"} | trace_id="0000"']) {
    const ctx = context();
    await selectStreams(parseLogql(query) as LogQuery, ctx, range, { limit: 10, direction: 'backward' });
    assert.ok(!ctx.plan.some((step) => /read in \d+ slices/.test(step)), `${query}: ${ctx.plan.join('; ')}`);
  }
});
