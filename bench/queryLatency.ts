/**
 * Query latency of the Loki API over generated mesh logs: starts the real
 * server, ingests ROWS records (default 1,000,000) over 24 h through OTLP/HTTP
 * JSON, then times representative queries. One line of figures per case.
 *
 *   npx tsc -p . && ROWS=1000000 RUNS=30 node dist/bench/queryLatency.js
 */
import { randomBytes } from 'node:crypto';
import { startMeshlog } from '../test/support/meshlogProcess.js';

const rows = Number(process.env.ROWS ?? 1_000_000);
const runs = Number(process.env.RUNS ?? 30);
const batch = 5000;
const dayNs = 86_400n * 1_000_000_000n;
const endNs = (BigInt(Date.now()) * 1_000_000n / 1_000_000_000n) * 1_000_000_000n;
const startNs = endNs - dayNs;

const services = ['checkout', 'cart', 'payments', 'catalog', 'search', 'auth', 'gateway', 'shipping', 'inventory', 'email', 'ads', 'recommendation'];
const namespaces = ['shop', 'shop', 'billing', 'shop', 'shop', 'identity', 'edge', 'logistics', 'logistics', 'notify', 'marketing', 'marketing'];
const paths = ['/api/v1/items', '/api/v1/cart', '/api/v1/pay', '/healthz', '/api/v1/search', '/login'];
const severities: [number, string][] = [[9, 'INFO'], [9, 'INFO'], [9, 'INFO'], [5, 'DEBUG'], [13, 'WARN'], [17, 'ERROR']];

/** Deterministic mix of Envoy access lines, logfmt and JSON bodies; ~1% carry "timeout". */
function body(i: number, traceId: string): string {
  const path = paths[i % paths.length];
  const status = i % 97 === 0 ? 503 : i % 13 === 0 ? 404 : 200;
  const duration = (i * 7919) % 900;
  switch (i % 3) {
    case 0:
      return `[2026-01-01T00:00:00.000Z] "GET ${path}/${i % 1000} HTTP/1.1" ${status} - 0 ${(i * 31) % 9000} ${duration} ${duration - 1} "-" "envoy" "${traceId.slice(0, 8)}-req" "svc" "10.0.${i % 255}.${i % 7}:8080"`;
    case 1:
      return `level=info msg="${i % 100 === 1 ? 'upstream timeout' : 'request served'}" path=${path} status=${status} duration=${duration}ms`;
    default:
      return JSON.stringify({ msg: i % 100 === 2 ? 'db timeout' : 'handled', path, status, latency_ms: duration, user: `u${i % 5000}` });
  }
}

function otlpBatch(from: number, count: number, traceIds: string[]): string {
  const byService = new Map<number, object[]>();
  for (let i = from; i < from + count; i++) {
    const s = i % services.length;
    const [severityNumber, severityText] = severities[i % severities.length];
    const traceId = traceIds[i % traceIds.length];
    const list = byService.get(s) ?? [];
    list.push({
      timeUnixNano: (startNs + (dayNs * BigInt(i)) / BigInt(rows)).toString(),
      severityNumber,
      severityText,
      body: { stringValue: body(i, traceId) },
      traceId,
      spanId: traceId.slice(0, 16),
      attributes: [{ key: 'http.route', value: { stringValue: paths[i % paths.length] } }],
    });
    byService.set(s, list);
  }
  return JSON.stringify({
    resourceLogs: [...byService].map(([s, logRecords]) => ({
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: services[s] } },
          { key: 'k8s.namespace.name', value: { stringValue: namespaces[s] } },
          { key: 'k8s.pod.name', value: { stringValue: `${services[s]}-${s % 3}` } },
        ],
      },
      scopeLogs: [{ logRecords }],
    })),
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const meshlog = await startMeshlog();
try {
  const headers = { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'bench' };
  const traceIds = Array.from({ length: 50_000 }, () => randomBytes(16).toString('hex'));
  const ingestStarted = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let from = 0; from < rows; from += batch) {
    const request = fetch(`${meshlog.url}/v1/logs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: otlpBatch(from, Math.min(batch, rows - from), traceIds),
    }).then(async (response) => {
      if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
    });
    const tracked: Promise<void> = request.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const ingestSeconds = (performance.now() - ingestStarted) / 1000;
  console.log(`ingest: ${rows} rows in ${ingestSeconds.toFixed(1)} s (${Math.round(rows / ingestSeconds)} rows/s) through OTLP/HTTP JSON`);

  const range = { start: startNs.toString(), end: endNs.toString() };
  const cases: [string, string, Record<string, string>][] = [
    ['selector + term filter, 24 h, limit 100', '{service_name="cart"} |= "timeout"', { ...range, limit: '100' }],
    ['selector + substring of a word, 24 h', '{k8s_namespace_name="shop"} |= "timeou"', { ...range, limit: '100' }],
    ['regex filter, 24 h', '{k8s_namespace_name="shop"} |~ "status=5[0-9][0-9]"', { ...range, limit: '100' }],
    ['trace-id lookup, all services, 24 h', `{service_name=~".+"} | trace_id="${traceIds[12345]}"`, { ...range, limit: '1000' }],
    ['json parser + numeric filter, 24 h', '{service_name="payments"} | json | status >= 500', { ...range, limit: '100' }],
    ['sum by (service_name) (rate[5m]), 24 h, step 5m', 'sum by (service_name) (rate({k8s_namespace_name=~".+"}[5m]))', { ...range, step: '5m' }],
    ["Grafana logs volume, 24 h, step 5m", 'sum by (level, detected_level) (count_over_time({service_name="cart"} | drop __error__ [5m]))', { ...range, step: '5m' }],
    ['sum by (detected_level) (count_over_time |= term [1h]), 24 h', 'sum by (detected_level) (count_over_time({service_name=~".+"} |= "timeout" [1h]))', { ...range, step: '1h' }],
    ['quantile_over_time unwrap (logfmt), 1 h, step 5m', 'quantile_over_time(0.99, {service_name="cart"} | logfmt | unwrap duration(duration) | __error__="" [5m]) by (path)', { start: (endNs - 3_600_000_000_000n).toString(), end: range.end, step: '5m' }],
  ];
  for (const [name, query, params] of cases) {
    const times: number[] = [];
    let summary = '';
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?${new URLSearchParams({ query, ...params })}`, { headers });
      const text = await response.text();
      times.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`${name}: ${response.status} ${text}`);
      if (run === 0) {
        const data = JSON.parse(text).data;
        const count = data.resultType === 'streams' ? data.result.reduce((n: number, s: { values: unknown[] }) => n + s.values.length, 0) : data.result.length;
        summary = `${data.resultType} ${count} ${data.resultType === 'streams' ? 'lines' : 'series'}, read ${data.stats.summary.totalLinesProcessed} rows`;
      }
    }
    times.sort((a, b) => a - b);
    console.log(`${name}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms (${runs} runs; ${summary}) — ${query}`);
  }
} finally {
  await meshlog.stop();
}
