import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { committedCount } from '../../support/committedCount.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';
import { waitFor } from '../../support/waitFor.js';

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

const exportPath = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

function metadata(entries: Record<string, string>): grpc.Metadata {
  const result = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) result.set(key, value);
  return result;
}

/** Emits through the SDK's gRPC exporter and returns what the exporter reported for each export. */
async function emitThrough(server: RunningMeshlog, entries: Record<string, string>, body: string): Promise<ExportResult[]> {
  // A minute rather than the exporter's default 10 s: an export held in the queue by a 10 s linger (below) is answered after it.
  const inner = new OTLPLogExporter({
    url: `http://${server.listeners.otlp_grpc}`,
    metadata: metadata(entries),
    compression: 'gzip' as CompressionAlgorithm,
    timeoutMillis: 60_000,
  });
  const results: ExportResult[] = [];
  const exporter: LogRecordExporter = {
    export: (logs, done) => inner.export(logs, (result) => done((results.push(result), result))),
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout-grpc', 'k8s.namespace.name': 'shop' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const context = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    traceFlags: TraceFlags.SAMPLED,
  });
  provider.getLogger('checkout.grpc', '2.0.0').emit({
    timestamp: [1_700_000_000, 123_456_789],
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body,
    attributes: { 'http.route': '/pay', attempt: 3 },
    context,
  });
  await provider.forceFlush();
  await provider.shutdown();
  return results;
}

const errorCode = (results: ExportResult[]) => (results[0]?.error as { code?: number } | undefined)?.code;

test('the OpenTelemetry SDK gRPC exporter (gzip, bearer token, tenant metadata) is answered after commit', async () => {
  const results = await emitThrough(
    meshlog,
    { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' },
    'payment retry via grpc',
  );
  assert.equal(results.length, 1);
  assert.equal(results[0].code, 0, String(results[0].error));
  assert.equal(await committedCount(meshlog, 'otlp_grpc'), 1, 'committed before the exporter got its answer');
});

test('wrong credentials, a bad tenant and bytes that are not protobuf get their gRPC status; the listener keeps serving', async () => {
  assert.equal(errorCode(await emitThrough(meshlog, {}, 'no token')), grpc.status.UNAUTHENTICATED);
  assert.equal(
    errorCode(await emitThrough(meshlog, { authorization: 'Bearer wrong-token-0123456789' }, 'wrong token')),
    grpc.status.UNAUTHENTICATED,
  );
  assert.equal(
    errorCode(await emitThrough(meshlog, { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'no spaces allowed' }, 'bad tenant')),
    grpc.status.INVALID_ARGUMENT,
  );

  const client = new grpc.Client(meshlog.listeners.otlp_grpc, grpc.credentials.createInsecure());
  const garbage = await new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest(
      exportPath,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      Buffer.from([0x0a, 0xff, 0xff, 0xff]),
      metadata({ authorization: `Bearer ${meshlog.token}` }),
      (error) => resolve(error),
    ),
  );
  client.close();
  assert.equal(garbage?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(garbage?.details ?? '', /invalid ExportLogsServiceRequest protobuf/);

  const after = await emitThrough(meshlog, { authorization: `Bearer ${meshlog.token}` }, 'accepted after the bad calls');
  assert.equal(after[0].code, 0, String(after[0].error));
});

test('a full ingest queue answers UNAVAILABLE (retryable); --auth=none takes anonymous exports', async () => {
  const busy = await startMeshlog({
    args: ['--auth', 'none'],
    env: { MESHLOG_INGEST_MAX_QUEUED_RECORDS: '1', MESHLOG_INGEST_BATCH_LINGER_MS: '10000' },
  });
  try {
    // Log in once first: that audit record commits at once, apart from the export held in the queue.
    await (await fetch(`${busy.url}/metrics`)).text();
    // The linger (10 s) holds it long enough to be seen queued and refuse the second, even on a loaded machine.
    let firstAnswered = false;
    const first = emitThrough(busy, {}, 'held in the queue').finally(() => (firstAnswered = true));
    await waitFor(
      async () => {
        if (/^meshlog_queue_records 1$/m.test(await (await fetch(`${busy.url}/metrics`)).text())) return true;
        assert.ok(!firstAnswered, 'the first export was answered before it was ever seen queued');
        return false;
      },
      { what: 'the first export to be queued', intervalMs: 20 },
    );
    assert.equal(errorCode(await emitThrough(busy, {}, 'refused while full')), grpc.status.UNAVAILABLE);
    assert.equal((await first)[0].code, 0, 'the queued export is committed and answered');
  } finally {
    await busy.kill();
  }
});

test('the OpenTelemetry SDK gRPC trace exporter lands spans in the spans table', async () => {
  const exporter = new OTLPTraceExporter({
    url: `http://${meshlog.listeners.otlp_grpc}`,
    metadata: metadata({ authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' }),
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout-grpc' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    traceFlags: 1,
    isRemote: true,
  });
  const span = provider.getTracer('checkout.grpc').startSpan('POST /pay', { kind: SpanKind.SERVER, startTime: [1_700_000_000, 0] }, parent);
  span.end([1_700_000_000, 250_000_000]);
  await provider.forceFlush();
  await provider.shutdown();
  assert.equal(await committedCount(meshlog, 'otlp_grpc'), 2, 'spans are not log records');
});

test('what the exporter sent is what is stored', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs ORDER BY body`,
  );
  assert.deepEqual(
    rows.map((row) => row.body),
    ['accepted after the bad calls', 'payment retry via grpc'],
  );
  const [afterBad, first] = rows;
  assert.equal(afterBad.tenant, 'default');
  assert.equal(first.tenant, 'acme');
  assert.equal(first.receiver, 'otlp_grpc');
  assert.equal(first.timestamp, '1700000000123456789');
  assert.equal(first.severity_number, 13);
  assert.equal(first.service_name, 'checkout-grpc');
  assert.equal(first.scope_name, 'checkout.grpc');
  assert.equal(first.trace_id, '5b8efff798038103d269b633813fc60c');
  assert.equal(first.span_id, 'eee19b7ec3c1b174');
  assert.deepEqual(first.log_attributes, { 'http.route': '/pay', attempt: '3', 'meshlog.parse_status': 'no_format' });
  assert.equal(first.resource_attributes['k8s.namespace.name'], 'shop');

  const spans = await readCommitted<{
    tenant: string;
    trace_id: string;
    parent_span_id: string;
    span_name: string;
    service_name: string;
    duration_ns: string;
    receiver: string;
  }>(
    meshlog.dataDir,
    'SELECT tenant, trace_id, parent_span_id, span_name, service_name, toString(duration_ns) AS duration_ns, receiver FROM meshlog.spans',
  );
  assert.deepEqual(spans, [
    {
      tenant: 'acme',
      trace_id: '5b8efff798038103d269b633813fc60c',
      parent_span_id: 'eee19b7ec3c1b174',
      span_name: 'POST /pay',
      service_name: 'checkout-grpc',
      duration_ns: '250000000',
      receiver: 'otlp_grpc',
    },
  ]);
});
