import type { Storage } from '../src/storage/engine/storage.js';

/**
 * Deterministic synthetic mesh logs generated inside ClickHouse, for the query
 * benchmarks: millions of rows in seconds, where building them in JavaScript
 * and parsing them back as JSON would take minutes.
 *
 * Row n (0-based) of `rows` is at start + n·(end − start)/rows; its service is
 * services[n mod 12], its body an Envoy access line, a logfmt line or a JSON
 * object by ⌊n/12⌋ mod 3, its trace id the MD5 hex of "trace-<n mod traceCount>".
 */
export const syntheticServices = [
  'checkout',
  'cart',
  'payments',
  'catalog',
  'search',
  'auth',
  'gateway',
  'shipping',
  'inventory',
  'email',
  'ads',
  'recommendation',
];
export const syntheticNamespaces = [
  'shop',
  'shop',
  'billing',
  'shop',
  'shop',
  'identity',
  'edge',
  'logistics',
  'logistics',
  'notify',
  'marketing',
  'marketing',
];
const paths = ['/api/v1/items', '/api/v1/cart', '/api/v1/pay', '/healthz', '/api/v1/search', '/login'];

export interface SyntheticMeshLogs {
  tenant: string;
  rows: number;
  startNs: bigint;
  endNs: bigint;
  traceCount: number;
}

/** Inserts rows [from, from + count) of the synthetic set; resolves once committed. */
export async function insertSyntheticMeshLogs(storage: Storage, set: SyntheticMeshLogs, from: number, count: number): Promise<void> {
  const query = `INSERT INTO ${storage.database}.logs
  (tenant, timestamp, observed_timestamp, severity_number, severity_text, service_name, body, resource_attributes, log_attributes,
   trace_id, span_id, mesh, platform, cluster, source_workload, destination_workload, protocol, response_code, duration_ms,
   bytes_sent, request_id, receiver, chain_id, batch_seq, batch_pos)
WITH
  number % 12 AS s,
  intDiv(number, 12) % 3 AS kind,
  intDiv(number, 36) % 6 AS sev,
  {services:Array(String)}[s + 1] AS service,
  {paths:Array(String)}[number % 6 + 1] AS path,
  multiIf(number % 97 = 0, 503, number % 13 = 0, 404, 200) AS status,
  (number * 7919) % 900 AS duration,
  lower(hex(MD5(concat('trace-', toString(number % {traceCount:UInt64}))))) AS trace,
  fromUnixTimestamp64Nano(toInt64({start:Int64} + intDiv(toInt128(number) * {span:Int64}, {rows:UInt64}))) AS ts
SELECT
  {tenant:String}, ts, ts,
  [9, 9, 9, 5, 13, 17][sev + 1], ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'][sev + 1],
  service,
  multiIf(
    kind = 0, concat('[2026-01-01T00:00:00.000Z] "GET ', path, '/', toString(number % 1000), ' HTTP/1.1" ', toString(status), ' - 0 ',
      toString((number * 31) % 9000), ' ', toString(duration), ' ', toString(greatest(duration, 1) - 1), ' "-" "envoy" "', substring(trace, 1, 8),
      '-req" "svc" "10.0.', toString(number % 255), '.', toString(number % 7), ':8080"'),
    kind = 1, concat('level=info msg="', if(number % 100 = 1, 'upstream timeout', 'request served'), '" path=', path, ' status=', toString(status),
      ' duration=', toString(duration), 'ms'),
    concat('{"msg":"', if(number % 100 = 2, 'db timeout', 'handled'), '","path":"', path, '","status":', toString(status), ',"latency_ms":',
      toString(duration), ',"user":"u', toString(number % 5000), '"}')),
  map('service.name', service, 'k8s.namespace.name', {namespaces:Array(String)}[s + 1], 'k8s.pod.name', concat(service, '-', toString(number % 3))),
  map('http.route', path),
  trace, substring(trace, number % 16 + 1, 16),
  'istio', 'kubernetes', 'eu-1', {services:Array(String)}[(s + 1) % 12 + 1], service, 'HTTP/1.1', status, duration,
  (number * 31) % 9000, concat(substring(trace, 1, 8), '-req'), 'bench', 'bench/synthetic', intDiv(number, 100000) + 1, number % 100000
FROM numbers({from:UInt64}, {count:UInt64})`;
  await storage.client.command({
    query,
    query_params: {
      services: syntheticServices,
      namespaces: syntheticNamespaces,
      paths,
      traceCount: set.traceCount,
      start: set.startNs.toString(),
      span: (set.endNs - set.startNs).toString(),
      rows: set.rows,
      tenant: set.tenant,
      from,
      count,
    },
    clickhouse_settings: { max_partitions_per_insert_block: '0', async_insert: 0 },
  });
}
