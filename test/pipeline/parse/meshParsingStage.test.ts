import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newLogRecord, type LogRecord } from '../../../src/model/logRecord.js';
import { meshParsingStage, parseStatusAttribute } from '../../../src/pipeline/meshParsingStage.js';

const stage = meshParsingStage({
  envoyFormats: [
    {
      name: 'edge_traced',
      mesh: 'envoy',
      format: '[%START_TIME%] %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %DURATION% %TRACE_ID% %REQ(X-REQUEST-ID)%',
    },
  ],
  multiline: true,
});

/** A record as a file-reading shipper sends it over OTLP: its time is when it read the line, so the line's own time wins. */
function record(body: string, fields: Partial<LogRecord> = {}): LogRecord {
  return newLogRecord({ tenant: 'acme', receiver: 'otlp_http', body, ...fields });
}

const istioLine =
  '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default';

test('an Istio sidecar line read from a CRI file: unwrapped, timed, k8s metadata from the path, mesh fields, severity from status', () => {
  const [out] = stage([
    record(`2020-11-25T21:26:18.500000000Z stdout F ${istioLine}`, {
      resource: {
        'log.file.path': '/var/log/pods/shop_sleep-6d9f8-abcde_0a1b2c3d-0000-4000-8000-000000000001/istio-proxy/0.log',
        'k8s.pod.labels.app.kubernetes.io/name': 'sleep',
      },
    }),
  ]);
  assert.equal(out.body, istioLine);
  assert.equal(out.timeUnixNano, 1606339578409000000n, "the access log's own start time");
  assert.equal(out.serviceName, 'sleep');
  assert.equal(out.resource['k8s.namespace.name'], 'shop');
  assert.equal(out.resource['k8s.container.name'], 'istio-proxy');
  assert.equal(out.attributes['log.iostream'], 'stdout');
  assert.equal(out.attributes['meshlog.format'], 'istio');
  assert.equal(out.attributes['http.response.status_code'], '418');
  assert.equal(out.severityNumber, 13);
  assert.equal(out.severityText, 'WARN');
  assert.deepEqual(out.mesh, {
    mesh: 'istio',
    platform: 'kubernetes',
    cluster: '',
    sourceWorkload: 'sleep',
    destinationWorkload: 'httpbin.foo',
    protocol: 'http/1.1',
    responseCode: 418,
    durationMs: 4,
    bytesSent: 135,
    bytesReceived: 0,
    requestId: '84961386-6d84-929d-98bd-c5aee93b5c88',
  });
});

test("a custom Envoy format gives the trace id; the sender's explicit trace id and severity win", () => {
  const line = '[2025-01-02T03:04:05.678Z] GET /pay 502 31 4bf92f3577b34da6a3ce929d0e0e4736 7d1c3b2a-0f9e-9d8c-b7a6-958473625140';
  const [fromLine, fromSender] = stage([
    record(line, { resource: { 'service.name': 'edge', 'k8s.cluster.name': 'prod-eu' } }),
    record(line, { traceId: '11111111111111111111111111111111', severityNumber: 9, severityText: 'INFO' }),
  ]);
  assert.equal(fromLine.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(fromLine.severityNumber, 17);
  assert.equal(fromLine.mesh?.requestId, '7d1c3b2a-0f9e-9d8c-b7a6-958473625140');
  assert.equal(fromLine.mesh?.cluster, 'prod-eu');
  assert.equal(fromLine.attributes['meshlog.format'], 'edge_traced');
  assert.equal(fromSender.traceId, '11111111111111111111111111111111');
  assert.equal(fromSender.severityNumber, 9);
});

test("Linkerd inbound access log: the caller from its identity, the callee is the record's service", () => {
  const [out] = stage([
    record(
      '10.42.0.63:51160 traffic.booksapp.serviceaccount.identity.linkerd.cluster.local - [2022-08-23T20:28:20.071809491Z] "GET http://webapp:7000/ HTTP/2.0" 200',
      {
        resource: { 'service.name': 'webapp' },
      },
    ),
  ]);
  assert.equal(out.mesh?.mesh, 'linkerd');
  assert.equal(out.mesh?.sourceWorkload, 'traffic.booksapp');
  assert.equal(out.mesh?.destinationWorkload, 'webapp');
  assert.equal(out.timeUnixNano, 1661286500071809491n);
});

test('application JSON and logfmt bodies give severity, time and trace ids; the body is kept', () => {
  const json =
    '{"level":"error","ts":1700000000.5,"msg":"charge failed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","http":{"status":402}}';
  const [fromJson, fromLogfmt] = stage([
    record(json),
    record('level=warn msg="slow query" traceparent=00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01'),
  ]);
  assert.equal(fromJson.body, json);
  assert.equal(fromJson.severityNumber, 17);
  assert.equal(fromJson.timeUnixNano, 1700000000500000000n);
  assert.equal(fromJson.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(fromJson.spanId, '00f067aa0ba902b7');
  assert.equal(fromJson.attributes['http.status'], '402');
  assert.equal(fromJson.mesh, undefined);
  assert.equal(fromLogfmt.severityNumber, 13);
  assert.equal(fromLogfmt.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(fromLogfmt.traceFlags, 1);
});

test('plain lines stay as they are, without a format attribute; stack traces of one stream join, of two streams do not', () => {
  const pod = { 'k8s.pod.name': 'cart-1', 'k8s.container.name': 'app' };
  const other = { 'k8s.pod.name': 'cart-2', 'k8s.container.name': 'app' };
  const records = stage([
    record('Starting server on port 8080', { resource: pod }),
    record('java.lang.IllegalStateException: cart is empty', { resource: pod }),
    record('\tat com.shop.Cart.checkout(Cart.java:42)', { resource: pod }),
    record('\tat com.shop.Other.run(Other.java:1)', { resource: other }),
  ]);
  assert.deepEqual(
    records.map((r) => r.body),
    [
      'Starting server on port 8080\njava.lang.IllegalStateException: cart is empty\n\tat com.shop.Cart.checkout(Cart.java:42)',
      '\tat com.shop.Other.run(Other.java:1)',
    ],
  );
  assert.equal(records[0].attributes['meshlog.format'], undefined);
  assert.equal(records[0].serviceName, 'cart-1');
});

test('a line in no known format is stored as sent, flagged, and counted per receiver', () => {
  const reported: [string, string, number][] = [];
  const counting = meshParsingStage({
    envoyFormats: [],
    multiline: false,
    reportUnparsed: (receiver, reason, count) => reported.push([receiver, reason, count]),
  });
  const records = counting([
    record('Starting server on port 8080'),
    record(istioLine),
    record('cache warmed in 30 ms', { receiver: 'syslog' }),
    record('ready', { receiver: 'syslog' }),
  ]);
  assert.deepEqual(
    records.map((r) => r.attributes[parseStatusAttribute]),
    ['no_format', undefined, 'no_format', 'no_format'],
  );
  assert.equal(records[0].body, 'Starting server on port 8080');
  assert.equal(records[1].attributes['meshlog.format'], 'istio');
  assert.deepEqual(reported, [
    ['otlp_http', 'no_format', 1],
    ['syslog', 'no_format', 2],
  ]);
});

test('CRI partial lines in one batch become one record; a line still open at the end of the batch is kept and marked', () => {
  const resource = { 'log.file.path': '/var/log/pods/shop_cart-1_0a1b2c3d-0000-4000-8000-000000000002/app/0.log' };
  const records = stage([
    record('2024-01-01T00:00:00.000000001Z stdout P {"level":"info","msg":"a very', { resource: { ...resource } }),
    record('2024-01-01T00:00:00.000000002Z stderr F plain stderr line', { resource: { ...resource } }),
    record('2024-01-01T00:00:00.000000003Z stdout F  long line"}', { resource: { ...resource } }),
    record('2024-01-01T00:00:00.000000004Z stdout P cut at the batch end', { resource: { ...resource } }),
  ]);
  assert.deepEqual(
    records.map((r) => r.body),
    ['{"level":"info","msg":"a very long line"}', 'plain stderr line', 'cut at the batch end'],
  );
  assert.equal(records[0].severityNumber, 9, 'the joined line is parsed as a whole');
  assert.equal(records[0].timeUnixNano, 1704067200000000001n);
  assert.equal(records[0].attributes['meshlog.partial'], undefined);
  assert.equal(records[2].attributes['meshlog.partial'], 'true');
  assert.equal(records[1].attributes['log.iostream'], 'stderr');
});

test('records sharing one resource but read from different pod files each get their own pod', () => {
  const shared = { 'host.name': 'node-1' };
  const records = stage([
    record('plain line from cart', {
      resource: shared,
      attributes: { 'log.file.path': '/var/log/pods/shop_cart-1_0a1b2c3d-0000-4000-8000-000000000002/app/0.log' },
    }),
    record('plain line from pay', {
      resource: shared,
      attributes: { 'log.file.path': '/var/log/pods/bank_pay-1_0a1b2c3d-0000-4000-8000-000000000003/app/0.log' },
    }),
  ]);
  assert.deepEqual(
    records.map((r) => [r.resource['k8s.namespace.name'], r.resource['k8s.pod.name']]),
    [
      ['shop', 'cart-1'],
      ['bank', 'pay-1'],
    ],
  );
  assert.deepEqual(shared, { 'host.name': 'node-1' }, 'the shared resource is left as sent');
});

test("a line whose timestamp is its entry's (Loki push) keeps it, as Loki does, with the line's own time in meshlog.line_time", () => {
  const pushed = 1_800_000_000_000_000_000n;
  const entry = (timeUnixNano: bigint) =>
    newLogRecord({ tenant: 'acme', receiver: 'loki', body: istioLine, timeUnixNano, timeIsEntryTime: true });
  const [out] = stage([entry(pushed)]);
  assert.equal(out.timeUnixNano, pushed, 'the entry timestamp, whatever the line says');
  assert.equal(out.attributes['meshlog.line_time'], '1606339578409000000', "the access log's own start time");
  assert.equal(out.attributes['meshlog.format'], 'istio', 'the line is parsed all the same');
  const [same] = stage([entry(1606339578409000000n)]);
  assert.equal(same.attributes['meshlog.line_time'], undefined, 'no copy when the entry already has the line time');
  const [shipped] = stage([newLogRecord({ tenant: 'acme', receiver: 'otlp_http', body: istioLine, timeUnixNano: pushed })]);
  assert.equal(shipped.timeUnixNano, 1606339578409000000n, "any other sender's time is its read time: the line's time replaces it");
});
