/**
 * Throughput of the parsing stage (detect + parse + normalize) and of parse
 * plus redaction, per format, on one core: lines per CPU second. Each case runs BATCHES
 * batches of BATCH records (after 20 warm-up batches); records are built
 * outside the clock. One line of figures per case.
 *
 *   npx tsc -p . && node dist/bench/meshParsing.js
 */
import { newLogRecord, type LogRecord } from '../src/model/logRecord.js';
import { meshParsingStage } from '../src/pipeline/meshParsingStage.js';
import { defaultRuleNames } from '../src/pipeline/redact/builtinRules.js';
import { redactionStage } from '../src/pipeline/redactionStage.js';

const batch = Number(process.env.BATCH ?? 1000);
const batches = Number(process.env.BATCHES ?? 200);

const lines: Record<string, (i: number) => string> = {
  envoy: (i) =>
    `[2026-01-01T00:00:00.${String(i % 1000).padStart(3, '0')}Z] "GET /api/v1/items/${i % 1000}?page=${i % 7} HTTP/1.1" 200 - 0 ${(i * 31) % 9000} ${i % 900} 3 "10.0.35.28" "Mozilla/5.0 (X11; Linux x86_64)" "cc21d9b0-cf5c-432b-8c7e-${String(i).padStart(12, '0')}" "items" "10.0.2.1:80"`,
  istio: (i) =>
    `[2026-01-01T00:00:00.409Z] "GET /status/${i % 500} HTTP/1.1" 200 - via_upstream - "-" 0 ${i % 9000} 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-${String(i).padStart(12, '0')}" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`,
  istio_json: (i) =>
    `{"authority":"httpbin:8000","bytes_received":0,"bytes_sent":${i % 9000},"connection_termination_details":null,"downstream_local_address":"10.0.45.184:8000","downstream_remote_address":"10.44.1.23:46520","duration":4,"method":"GET","path":"/status/418","protocol":"HTTP/1.1","request_id":"84961386-6d84-929d-98bd-c5aee93b5c88","requested_server_name":null,"response_code":418,"response_code_details":"via_upstream","response_flags":"-","route_name":"default","start_time":"2020-11-25T21:26:18.409Z","upstream_cluster":"outbound|8000||httpbin.foo.svc.cluster.local","upstream_host":"10.44.1.27:80","upstream_local_address":"10.44.1.23:37652","upstream_service_time":"4","upstream_transport_failure_reason":null,"user_agent":"curl/7.73.0-DEV","x_forwarded_for":null}`,
  kuma_http: (i) =>
    `[2023-03-01T10:00:00.000Z] default "GET /api/${i % 100} HTTP/1.1" 200 - 0 42 5 4 "-" "curl/8.0" "463ac35c9f6413ad48485a3953bb6124" "a1b2c3d4-0000-9000-8000-000000000001" "backend:80" "frontend_kuma-demo_svc_8080" "backend_kuma-demo_svc_3001" "10.0.0.5" "10.0.0.9:3001"`,
  linkerd_apache: (i) =>
    `10.42.0.63:${40000 + (i % 20000)} traffic.booksapp.serviceaccount.identity.linkerd.cluster.local - [2022-08-23T20:28:20.071809491Z] "GET http://webapp:7000/books/${i % 100} HTTP/2.0" 200`,
  linkerd_json: (i) =>
    `{"client.addr":"10.42.0.70:${40000 + (i % 20000)}","client.id":"traffic.booksapp.serviceaccount.identity.linkerd.cluster.local","host":"webapp:7000","method":"GET","processing_ns":"39826","request_bytes":"","response_bytes":"19627","status":200,"timestamp":"2022-08-23T20:33:42.321746212Z","total_ns":"14441135","trace_id":"","uri":"http://webapp:7000/","user_agent":"Go-http-client/1.1","version":"HTTP/2.0"}`,
  linkerd_proxy: (i) => `[ ${(i / 1000).toFixed(6)}s]  INFO ThreadId(01) linkerd2_proxy: Admin interface on 0.0.0.0:4191`,
  hubble: (i) =>
    `{"flow":{"time":"2024-05-06T07:08:09.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.1.5","destination":"10.0.2.7"},"l4":{"TCP":{"source_port":${40000 + (i % 20000)},"destination_port":80}},"source":{"identity":1234,"namespace":"shop","pod_name":"frontend-7d9f-abcde","workloads":[{"name":"frontend","kind":"Deployment"}]},"destination":{"identity":5678,"namespace":"shop","pod_name":"cart-5c4b-fghij","workloads":[{"name":"cart","kind":"Deployment"}]},"Type":"L3_L4","traffic_direction":"EGRESS","Summary":"TCP Flags: SYN"},"node_name":"node-3"}`,
  ingress_nginx: (i) =>
    `192.168.1.${i % 250} - - [25/Nov/2020:21:26:18 +0000] "GET /api/orders?id=${i} HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" 421 0.012 [shop-checkout-8080] [] 10.244.0.12:8080 512 0.011 200 5f1c2b3a9d8e7f6a5b4c3d2e1f0a9b8c`,
  cri_istio: (i) => `2026-01-01T00:00:00.${String(i % 1000000000).padStart(9, '0')}Z stdout F ${lines.istio(i)}`,
  app_json: (i) =>
    `{"level":"info","ts":1700000000.5,"msg":"order ${i} placed","order":{"id":${i},"customer":{"tier":"gold"}},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
  logfmt: (i) => `time=2024-01-09T12:00:00.5Z level=warn msg="slow query" duration=1.2s table=orders row=${i}`,
  plain: (i) => `Starting worker ${i} with 4 threads and a queue of 1024 entries`,
};

function makeBatch(line: (i: number) => string, first: number): LogRecord[] {
  const records: LogRecord[] = [];
  for (let i = 0; i < batch; i++) {
    records.push(newLogRecord({ tenant: 'bench', receiver: 'bench', body: line(first + i), resource: { 'service.name': 'bench' } }));
  }
  return records;
}

/**
 * Lines per second of CPU time through the stages (process.cpuUsage, so other
 * load on a shared machine does not count); each batch is built outside the
 * measurement, just before it runs (a small heap, as in the server).
 */
function measure(stages: ((records: LogRecord[]) => LogRecord[])[], line: (i: number) => string): number {
  let micros = 0;
  for (let b = -20; b < batches; b++) {
    const records = makeBatch(line, b * batch);
    const start = process.cpuUsage();
    stages.reduce((current, stage) => stage(current), records);
    const used = process.cpuUsage(start);
    if (b >= 0) micros += used.user + used.system;
  }
  return (batch * batches) / (micros / 1e6);
}

const parse = meshParsingStage({ envoyFormats: [], multiline: true });
const redact = redactionStage({ rules: defaultRuleNames, custom: [] }, () => {});
const format = (value: number) => Math.round(value).toLocaleString('en-US').padStart(11);
console.log(
  `${'format'.padEnd(16)} ${'parse lines/s'.padStart(14)} ${'+redact lines/s'.padStart(16)}   (per CPU second; ${batches} batches x ${batch} records)`,
);
for (const [name, line] of Object.entries(lines)) {
  const parseOnly = measure([parse], line);
  const withRedaction = measure([parse, redact], line);
  console.log(`${name.padEnd(16)} ${format(parseOnly).padStart(14)} ${format(withRedaction).padStart(16)}`);
}
