/**
 * Query latency of the Loki API over generated mesh logs.
 *
 * Loads ROWS synthetic mesh records (default 10,000,000) spread over the last
 * 24 h straight into embedded ClickHouse (generated there by
 * bench/syntheticMeshLogs.ts, BATCH rows per insert; the ingest path is
 * bench/otlpIngest.ts's subject), printing after each insert the rows loaded,
 * rows/s, elapsed time and the loader's resident set, then the data dir's size.
 * Then starts the real server on that data directory and times a query mix
 * over HTTP, RUNS times per class (each run with its own term or trace id).
 * Prints p50/p95/p99 per query class and the peak RSS of the loader and of the
 * server. Then, with the server stopped, runs each class once more in process
 * and prints what ClickHouse read for it (rows, bytes, compressed bytes and
 * marks, from system.events).
 *
 *   npm run bench:query                        # 10,000,000 rows, 20 runs per class
 *   ROWS=1000000 RUNS=30 npm run bench:query
 *   CASES=term,trace,rate npm run bench:query  # only these classes (keys below)
 *   KEEP_DIR=/tmp/q100m ROWS=100000000 npm run bench:query
 *                                              # load into that dir once and keep it: the next run with the
 *                                              # same ROWS finds the rows there and skips the load
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pino } from 'pino';
import type { MetricExpr } from '../src/query/logql/ast.js';
import type { CompiledSql } from '../src/storage/sql.js';
import { evaluateMetric, isMetric } from '../src/query/logql/evaluateMetric.js';
import { stepsOf } from '../src/query/logql/metricValue.js';
import { defaultQueryLimits, type QueryContext } from '../src/query/logql/queryContext.js';
import { selectStreams } from '../src/query/logql/selectStreams.js';
import { parseLogql } from '../src/query/logql/parser.js';
import { parseLokiDuration } from '../src/query/lokiParams.js';
import { logQueryRunner } from '../src/storage/logs/logQueries.js';
import { Storage } from '../src/storage/engine/storage.js';
import { insertSyntheticMeshLogs, syntheticNamespaces, syntheticServices } from './syntheticMeshLogs.js';
import { startMeshlog, tempDataDir } from '../test/support/meshlogProcess.js';

const rows = Number(process.env.ROWS ?? 10_000_000);
const runs = Number(process.env.RUNS ?? 20);
const insertBatch = Number(process.env.BATCH ?? 1_000_000);
const tenant = 'bench';
const dayNs = 86_400n * 1_000_000_000n;
const stepNs = 300_000_000_000n;
const keepDir = process.env.KEEP_DIR;
const settleSeconds = Number(process.env.SETTLE_S ?? 3600);
const cases = process.env.CASES?.split(',').map((key) => key.trim());

const services = syntheticServices;
const namespaces = syntheticNamespaces;
// 50 lines per trace whatever ROWS is (200,000 traces at the default 10M): a trace's lines, not the table, decide a lookup's cost.
const traceCount = Math.max(1, Math.floor(rows / 50));
const traceIdOf = (k: number) => createHash('md5').update(`trace-${k}`).digest('hex');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Peak resident set of a process in MiB (VmHWM), from /proc. */
function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

/** ClickHouse's cumulative read counters of this process. */
async function readCounters(storage: Storage): Promise<Map<string, number>> {
  const result = await storage.client.query({
    query:
      "SELECT event, value FROM system.events WHERE event IN ('SelectedRows', 'SelectedBytes', 'ReadCompressedBytes', 'SelectedMarks')",
    format: 'JSONEachRow',
  });
  return new Map((await result.json<{ event: string; value: string }>()).map((row) => [row.event, Number(row.value)]));
}

/** Runs each class's first query in process through the query engine and prints what ClickHouse read for it. */
async function printReads(queries: [string, string, Record<string, string>][]): Promise<void> {
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, pino({ level: 'warn' }));
  try {
    const base = logQueryRunner(storage, { maxExecutionSeconds: 300 });
    for (const [name, endpoint, params] of queries) {
      const read = new Map<string, number>();
      const runner = {
        async run<T>(compiled: CompiledSql): Promise<T[]> {
          const before = await readCounters(storage);
          const rows = await base.run<T>(compiled);
          for (const [event, value] of await readCounters(storage))
            read.set(event, (read.get(event) ?? 0) + value - (before.get(event) ?? 0));
          return rows;
        },
      };
      const ctx: QueryContext = { database: 'meshlog', tenant, runner, limits: defaultQueryLimits, plan: [], rowsRead: 0, bytesRead: 0 };
      const expr = parseLogql(params.query);
      if (!isMetric(expr)) {
        await selectStreams(
          expr,
          ctx,
          { startNs: BigInt(params.start), endNs: BigInt(params.end) },
          { limit: Number(params.limit), direction: 'backward' },
        );
      } else if (endpoint === 'query') {
        await evaluateMetric(expr as MetricExpr, ctx, stepsOf(BigInt(params.time), BigInt(params.time), 1n, defaultQueryLimits));
      } else {
        await evaluateMetric(
          expr,
          ctx,
          stepsOf(BigInt(params.start), BigInt(params.end), parseLokiDuration(params.step, 'step'), defaultQueryLimits),
        );
      }
      const mib = (event: string) => ((read.get(event) ?? 0) / 1_048_576).toFixed(1);
      console.log(
        `${name}: read ${read.get('SelectedRows') ?? 0} rows, ${mib('SelectedBytes')} MiB (${mib('ReadCompressedBytes')} MiB compressed), ${read.get('SelectedMarks') ?? 0} marks`,
      );
    }
  } finally {
    await storage.close();
  }
}

/** Resident set of this process now, in MiB (VmRSS), from /proc. */
function rssMiB(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

/** The rows of the bench tenant a kept data dir holds and the nanosecond its first row is at (the load's start). */
async function loadedRows(storage: Storage): Promise<{ count: number; firstNs: bigint }> {
  const result = await storage.client.query({
    query: `SELECT count() AS count, toString(toUnixTimestamp64Nano(min(timestamp))) AS first FROM meshlog.logs WHERE tenant = {tenant:String}`,
    query_params: { tenant },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ count: string; first: string }>();
  return { count: Number(row.count), firstNs: BigInt(row.first) };
}

/**
 * Generates the rows in inserts of `insertBatch` (each one INSERT … SELECT: the engine holds one insert's
 * blocks, not the whole set), printing progress after each. A kept data dir that already holds `rows`
 * rows is used as it is; the returned start is where its rows begin.
 */
async function load(dataDir: string): Promise<bigint> {
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, pino({ level: 'warn' }));
  try {
    const kept = await loadedRows(storage);
    if (kept.count === rows) {
      console.log(`load: kept data dir ${dataDir} holds ${rows} rows, not loaded again; ${dirSizeGiB(dataDir)} GiB on disk`);
      return kept.firstNs;
    }
    if (kept.count !== 0)
      throw new Error(`${dataDir} holds ${kept.count} bench rows, not ROWS=${rows}: remove it or set ROWS=${kept.count}`);
    const startNs = (BigInt(Date.now()) / 1000n) * 1_000_000_000n - dayNs;
    const set = { tenant, rows, startNs, endNs: startNs + dayNs, traceCount };
    const started = performance.now();
    for (let from = 0; from < rows; from += insertBatch) {
      const count = Math.min(insertBatch, rows - from);
      await insertSyntheticMeshLogs(storage, set, from, count);
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `load: ${from + count} rows, ${Math.round((from + count) / seconds)} rows/s, ${seconds.toFixed(0)} s, RSS ${rssMiB()} MiB (peak ${peakRssMiB(process.pid)})`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `load: ${rows} rows in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s), generated inside ClickHouse in inserts of ${insertBatch}; loader peak RSS ${peakRssMiB(process.pid)} MiB`,
    );
    await settleMerges(storage);
    return startNs;
  } finally {
    await storage.close();
  }
}

/**
 * Waits (at most SETTLE_S seconds) until no merge of the logs table runs, printing the parts left: the queries
 * should meet the table as steady ingest leaves it, not a load's hundreds of fresh parts being merged meanwhile.
 */
async function settleMerges(storage: Storage): Promise<void> {
  const started = performance.now();
  for (;;) {
    const result = await storage.client.query({
      query: `SELECT (SELECT count() FROM system.merges WHERE database = 'meshlog' AND table = 'logs') AS merges,
                (SELECT count() FROM system.parts WHERE database = 'meshlog' AND table = 'logs' AND active) AS parts`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ merges: string; parts: string }>();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `merges: ${row.merges} running, ${row.parts} active parts, ${seconds.toFixed(0)} s, RSS ${rssMiB()} MiB (peak ${peakRssMiB(process.pid)})`,
    );
    if (Number(row.merges) === 0 || seconds > settleSeconds) return;
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
}

/** Bytes under a directory (as `du` counts them), in GiB. */
function dirSizeGiB(dir: string): string {
  return (Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]) / 2 ** 30).toFixed(2);
}

/** The data dir's parts and merges, as the queries meet them (a load leaves parts for background merges). */
async function printParts(dataDir: string): Promise<void> {
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, pino({ level: 'warn' }));
  try {
    const result = await storage.client.query({
      query: `SELECT count() AS parts, sum(rows) AS rows, formatReadableSize(sum(bytes_on_disk)) AS size,
                (SELECT count() FROM system.merges WHERE database = 'meshlog' AND table = 'logs') AS merges
              FROM system.parts WHERE database = 'meshlog' AND table = 'logs' AND active`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ parts: string; rows: string; size: string; merges: string }>();
    console.log(
      `logs table: ${row.parts} active parts, ${row.rows} rows, ${row.size} on disk, ${row.merges} merges running; data dir ${dirSizeGiB(dataDir)} GiB`,
    );
  } finally {
    await storage.close();
  }
}

const dataDir = keepDir ?? tempDataDir('meshlog-bench-query-');
if (keepDir) mkdirSync(keepDir, { recursive: true });
try {
  const startNs = await load(dataDir);
  const endNs = startNs + dayNs;
  await printParts(dataDir);

  const day = { start: startNs.toString(), end: endNs.toString() };
  // The same day with start and end on 5-minute boundaries, as a range aligned to a 5m step is.
  const alignedDay = { start: ((startNs / stepNs) * stepNs).toString(), end: ((endNs / stepNs) * stepNs).toString() };
  const lastHour = { start: (endNs - 3_600_000_000_000n).toString(), end: endNs.toString() };
  // Rare terms ("timeout" in ~1% of lines, "503" in ~1%) and a common one ("served").
  const terms = ['timeout', '503', 'upstream', 'served'];
  /** [class, endpoint, parameters of run k] */
  /** [key for CASES, class, endpoint, parameters of run k] */
  const allClasses: [string, string, string, (k: number) => Record<string, string>][] = [
    // Services 1, 5, 9 are the ones whose lines include the "upstream timeout" messages.
    [
      'term',
      'term filter: selector + |= word, 24 h, limit 100',
      'query_range',
      (k) => ({
        query: `{service_name="${services[(1 + 4 * k) % services.length]}"} |= "${terms[k % terms.length]}"`,
        ...day,
        limit: '100',
      }),
    ],
    [
      'term-all',
      'term filter, all services, 24 h, limit 100',
      'query_range',
      (k) => ({ query: `{service_name=~".+"} |= "${terms[k % terms.length]}"`, ...day, limit: '100' }),
    ],
    [
      'regex',
      'regex filter, 24 h, limit 100',
      'query_range',
      (k) => ({ query: `{k8s_namespace_name="${namespaces[k % namespaces.length]}"} |~ "status=5[0-9][0-9]"`, ...day, limit: '100' }),
    ],
    [
      'trace',
      'trace-id lookup, all services, 24 h',
      'query_range',
      (k) => ({ query: `{service_name=~".+"} | trace_id="${traceIdOf((k * 7919) % traceCount)}"`, ...day, limit: '1000' }),
    ],
    [
      'rate',
      'sum by (service_name) (rate[5m]), 24 h on 5-minute bounds, step 5m (per-minute counts)',
      'query_range',
      () => ({ query: 'sum by (service_name) (rate({k8s_namespace_name=~".+"}[5m]))', ...alignedDay, step: '5m' }),
    ],
    [
      'rate-off',
      'sum by (service_name) (rate[5m]), 24 h off the minute, step 5m (per-minute counts + rows of every 5th minute)',
      'query_range',
      () => ({ query: 'sum by (service_name) (rate({k8s_namespace_name=~".+"}[5m]))', ...day, step: '5m' }),
    ],
    [
      'volume',
      'Grafana logs volume, 24 h, step 5m',
      'query_range',
      (k) => ({
        query: `sum by (level, detected_level) (count_over_time({service_name="${services[k % services.length]}"} | drop __error__ [5m]))`,
        ...day,
        step: '5m',
      }),
    ],
    [
      'level',
      'count by level of a term, 24 h, step 1h',
      'query_range',
      (k) => ({
        query: `sum by (detected_level) (count_over_time({service_name=~".+"} |= "${terms[k % terms.length]}" [1h]))`,
        ...day,
        step: '1h',
      }),
    ],
    [
      'json',
      'json parser + numeric filter, 1 h, limit 100',
      'query_range',
      (k) => ({ query: `{service_name="${services[k % services.length]}"} | json | status >= 500`, ...lastHour, limit: '100' }),
    ],
    [
      // Most JSON lines pass: the LIMIT decides how many rows come back (SQL decides the filter on plain JSON lines).
      'json-pass',
      'json parser + numeric filter most lines pass, 1 h, limit 100',
      'query_range',
      (k) => ({ query: `{service_name="${services[k % services.length]}"} | json | latency_ms >= 100`, ...lastHour, limit: '100' }),
    ],
    [
      'quantile',
      'quantile_over_time unwrap (logfmt), 1 h, step 5m',
      'query_range',
      (k) => ({
        query: `quantile_over_time(0.99, {service_name="${services[k % services.length]}"} | logfmt | unwrap duration(duration) | __error__="" [5m]) by (path)`,
        ...lastHour,
        step: '5m',
      }),
    ],
    [
      'quantile-1h',
      'quantile_over_time unwrap (logfmt) [1h] by (path), 24 h, step 5m (each sample in 12 windows)',
      'query_range',
      (k) => ({
        query: `quantile_over_time(0.99, {service_name="${services[k % services.length]}"} | logfmt | unwrap duration(duration) | __error__="" [1h]) by (path)`,
        ...alignedDay,
        step: '5m',
      }),
    ],
    [
      'max',
      'max_over_time unwrap duration_ms by (detected_level), 1 h, step 5m (query engine)',
      'query_range',
      (k) => ({
        query: `max_over_time({service_name="${services[k % services.length]}"} | unwrap duration_ms [5m]) by (detected_level)`,
        ...lastHour,
        step: '5m',
      }),
    ],
    [
      'sum',
      'sum by (http_route) (sum_over_time unwrap duration_ms), 1 h, step 5m (integer sums per window in SQL)',
      'query_range',
      (k) => ({
        query: `sum by (http_route) (sum_over_time({service_name="${services[k % services.length]}"} | unwrap duration_ms [5m]))`,
        ...lastHour,
        step: '5m',
      }),
    ],
    [
      'avg',
      'sum by (http_route) (avg_over_time unwrap duration_ms without (trace_id, span_id, request_id, bytes_sent)), 1 h, step 5m (query engine)',
      'query_range',
      (k) => ({
        query: `sum by (http_route) (avg_over_time({service_name="${services[k % services.length]}"} | unwrap duration_ms [5m]) without (trace_id, span_id, request_id, bytes_sent))`,
        ...lastHour,
        step: '5m',
      }),
    ],
    [
      'topk',
      'topk(5) of 24 h counts, instant',
      'query',
      () => ({ query: 'topk(5, sum by (service_name) (count_over_time({k8s_namespace_name=~".+"}[24h])))', time: endNs.toString() }),
    ],
  ];
  const classes = allClasses.filter(([key]) => cases === undefined || cases.includes(key));
  const unknown = cases?.filter((key) => !allClasses.some(([known]) => known === key)) ?? [];
  if (unknown.length > 0) throw new Error(`CASES: no class ${unknown.join(', ')} (${allClasses.map(([key]) => key).join(', ')})`);
  const meshlog = await startMeshlog({ dataDir });
  try {
    const headers = { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant };
    for (const [, name, endpoint, params] of classes) {
      const times: number[] = [];
      let summary = '';
      for (let k = 0; k < runs; k++) {
        const started = performance.now();
        const response = await fetch(`${meshlog.url}/loki/api/v1/${endpoint}?${new URLSearchParams(params(k))}`, { headers });
        const text = await response.text();
        times.push(performance.now() - started);
        if (response.status !== 200) throw new Error(`${name}: ${response.status} ${text}`);
        if (k === 0) {
          const data = JSON.parse(text).data;
          const count =
            data.resultType === 'streams'
              ? data.result.reduce((n: number, s: { values: unknown[] }) => n + s.values.length, 0)
              : data.result.length;
          summary = `${data.resultType}: ${count} ${data.resultType === 'streams' ? 'lines' : 'series'}, ${data.stats.summary.totalLinesProcessed} rows read back`;
        }
      }
      times.sort((a, b) => a - b);
      const ms = (p: number) => percentile(times, p).toFixed(0);
      console.log(`${name}: p50 ${ms(50)} ms, p95 ${ms(95)} ms, p99 ${ms(99)} ms (${runs} runs; first run ${summary})`);
    }
    console.log(`server peak RSS ${peakRssMiB(meshlog.process.pid!)} MiB`);
  } finally {
    await meshlog.stop();
  }
  await printReads(classes.map(([, name, endpoint, params]) => [name, endpoint, params(0)]));
} finally {
  // The data directory and the key files the server keeps beside it (<dir>-storage.keys, <dir>-signing.key…),
  // unless KEEP_DIR asked to keep them for the next run.
  if (!keepDir) {
    rmSync(dataDir, { recursive: true, force: true });
    for (const name of readdirSync(dirname(dataDir)))
      if (name.startsWith(`${basename(dataDir)}-`)) rmSync(join(dirname(dataDir), name), { force: true });
  }
}
