import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

interface SpanRow {
  tenant: string;
  timestamp: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  span_name: string;
  span_kind: string;
  service_name: string;
  resource_attributes: Record<string, string>;
  scope_name: string;
  span_attributes: Record<string, string>;
  duration_ns: string;
  status_code: string;
  status_message: string;
  events_name: string[];
  receiver: string;
}

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

const traceId = '5b8efff798038103d269b633813fc60c';

/** A server span with a failing client child, through the OTel SDK and the given exporter. */
async function traceThrough(exporter: SpanExporter, service: string): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'k8s.namespace.name': 'shop' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('checkout.http', '1.4.2');
  const parentContext = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'eee19b7ec3c1b174', traceFlags: 1, isRemote: true });
  const server = tracer.startSpan(
    'POST /pay',
    { kind: SpanKind.SERVER, startTime: [1_767_323_045, 0], attributes: { 'http.route': '/pay' } },
    parentContext,
  );
  const client = tracer.startSpan(
    'charge card',
    { kind: SpanKind.CLIENT, startTime: [1_767_323_045, 250_000_000] },
    trace.setSpan(ROOT_CONTEXT, server),
  );
  client.addEvent('retry', { attempt: 2 }, [1_767_323_045, 300_000_000]);
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  client.end([1_767_323_045, 750_000_000]);
  server.end([1_767_323_046, 0]);
  await provider.forceFlush();
  await provider.shutdown();
}

test('spans from the OTel SDK through Zipkin and OTLP/HTTP (JSON, protobuf) land in the spans table and join logs', async () => {
  const headers = { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': 'acme' };
  await traceThrough(new ZipkinExporter({ url: `${meshlog.url}/api/v2/spans`, headers }), 'pay-zipkin');
  await traceThrough(new OtlpJsonExporter({ url: `${meshlog.url}/v1/traces`, headers, compression: 'gzip' as never }), 'pay-json');
  await traceThrough(new OtlpProtoExporter({ url: `${meshlog.url}/v1/traces`, headers }), 'pay-protobuf');

  // A log line of the same trace, to join on trace_id.
  const log = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      streams: [
        { stream: { service_name: 'pay-zipkin' }, values: [['1767323045400000000', 'card declined by issuer', { trace_id: traceId }]] },
      ],
    }),
  });
  assert.equal(log.status, 204);

  // Bad input: Zipkin keeps the good span beside a bad one; OTLP refuses a bad id in partial_success.
  const zipkinMixed = await fetch(`${meshlog.url}/api/v2/spans`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify([
      {
        traceId: '463ac35c9f6413ad',
        id: 'a2fb4a1d1a96d312',
        name: 'get /kept',
        timestamp: 1767323047000000,
        duration: 1500,
        localEndpoint: { serviceName: 'legacy' },
      },
      { traceId: 'xyz', id: 'a2fb4a1d1a96d313' },
    ]),
  });
  assert.equal(zipkinMixed.status, 400);
  assert.match(await zipkinMixed.text(), /1 spans refused, 1 accepted: span 1: traceId must be 16 or 32 hex characters/);
  const zipkinBroken = await fetch(`${meshlog.url}/api/v2/spans`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: '[{',
  });
  assert.equal(zipkinBroken.status, 400);
  const otlpBadId = await fetch(`${meshlog.url}/v1/traces`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'abc', spanId: 'eee19b7ec3c1b174', name: 'bad' }] }] }] }),
  });
  assert.equal(otlpBadId.status, 200);
  assert.equal(((await otlpBadId.json()) as { partialSuccess: { rejectedSpans: string } }).partialSuccess.rejectedSpans, '1');
  const unauthorized = await fetch(`${meshlog.url}/api/v2/spans`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '[]',
  });
  assert.equal(unauthorized.status, 401);

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const spans = await readCommitted<SpanRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp, toString(duration_ns) AS duration_ns FROM meshlog.spans ORDER BY service_name, timestamp`,
  );
  assert.equal(spans.length, 7);
  for (const [service, receiver] of [
    ['pay-zipkin', 'zipkin'],
    ['pay-json', 'otlp_http'],
    ['pay-protobuf', 'otlp_http'],
  ]) {
    const [server, client] = spans.filter((span) => span.service_name === service);
    assert.equal(server.receiver, receiver);
    assert.equal(server.tenant, 'acme');
    assert.equal(server.trace_id, traceId);
    assert.equal(server.parent_span_id, 'eee19b7ec3c1b174');
    assert.equal(server.span_name, 'POST /pay');
    assert.equal(server.span_kind, 'SERVER');
    assert.equal(server.timestamp, '1767323045000000000');
    assert.equal(server.duration_ns, '1000000000');
    assert.equal(server.span_attributes['http.route'], '/pay');
    assert.equal(client.parent_span_id, server.span_id);
    assert.equal(client.span_kind, 'CLIENT');
    assert.equal(client.duration_ns, '500000000');
    assert.equal(client.status_code, 'ERROR');
    assert.equal(client.status_message, 'card declined');
    assert.deepEqual(client.events_name, ['retry']);
    if (receiver === 'otlp_http') {
      assert.equal(server.resource_attributes['k8s.namespace.name'], 'shop');
      assert.equal(server.scope_name, 'checkout.http');
    }
  }
  const legacy = spans.find((span) => span.service_name === 'legacy')!;
  assert.equal(legacy.trace_id, '0000000000000000463ac35c9f6413ad');
  assert.equal(legacy.duration_ns, '1500000');

  const joined = await readCommitted<{ body: string; span_name: string }>(
    meshlog.dataDir,
    `SELECT logs.body AS body, spans.span_name AS span_name FROM meshlog.logs AS logs
     INNER JOIN meshlog.spans AS spans ON logs.trace_id = spans.trace_id AND logs.service_name = spans.service_name
     WHERE spans.span_kind = 'CLIENT'`,
  );
  assert.deepEqual(joined, [{ body: 'card declined by issuer', span_name: 'charge card' }]);
});
