import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OtlpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

async function emitThrough(exporter: LogRecordExporter, transport: string): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({
      'service.name': `checkout-${transport}`,
      'k8s.namespace.name': 'shop',
      'deployment.environment': 'prod',
    }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('checkout.http', '1.4.2');
  const context = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    traceFlags: TraceFlags.SAMPLED,
  });
  logger.emit({
    timestamp: [1_700_000_000, 123_456_789],
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: `payment retry via ${transport}`,
    attributes: { 'http.route': '/pay', attempt: 3, ratio: 0.5, ok: false, tags: ['a', 'b'] },
    context,
  });
  logger.emit({ severityNumber: SeverityNumber.INFO, body: { order: 42, items: ['x'] } });
  logger.emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: `failed via ${transport}`,
    timestamp: new Date('2026-01-02T03:04:05.678Z'),
  });
  await provider.forceFlush();
  await provider.shutdown();
}

test('OpenTelemetry SDK exporters (http/json and http/protobuf, gzip) deliver every field', async () => {
  const headers = { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': 'acme' };
  await emitThrough(new OtlpJsonExporter({ url: `${meshlog.url}/v1/logs`, headers, compression: 'gzip' as never }), 'json');
  await emitThrough(new OtlpProtoExporter({ url: `${meshlog.url}/v1/logs`, headers }), 'protobuf');
  assert.equal(await meshlog.stop(), 0, meshlog.output());

  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs ORDER BY service_name, timestamp`,
  );
  assert.equal(rows.length, 6);
  for (const transport of ['json', 'protobuf']) {
    const mine = rows.filter((row) => row.service_name === `checkout-${transport}`);
    assert.equal(mine.length, 3, `three records through ${transport}`);
    const warn = mine.find((row) => row.severity_text === 'WARN')!;
    assert.equal(warn.tenant, 'acme');
    assert.equal(warn.timestamp, '1700000000123456789');
    assert.equal(warn.severity_number, 13);
    assert.equal(warn.body, `payment retry via ${transport}`);
    assert.equal(warn.trace_id, '5b8efff798038103d269b633813fc60c');
    assert.equal(warn.span_id, 'eee19b7ec3c1b174');
    assert.equal(warn.trace_flags, 1);
    assert.equal(warn.scope_name, 'checkout.http');
    assert.equal(warn.scope_version, '1.4.2');
    assert.equal(warn.receiver, 'otlp_http');
    assert.deepEqual(warn.log_attributes, {
      'http.route': '/pay',
      attempt: '3',
      ratio: '0.5',
      ok: 'false',
      tags: '["a","b"]',
      'meshlog.parse_status': 'no_format',
    });
    assert.equal(warn.resource_attributes['k8s.namespace.name'], 'shop');
    assert.equal(warn.resource_attributes['deployment.environment'], 'prod');
    assert.match(warn.chain_id, /^acme\/w-[0-9a-f]{12}$/);

    const structured = mine.find((row) => row.severity_number === 9)!;
    assert.deepEqual(JSON.parse(structured.body), { order: 42, items: ['x'] });
    assert.equal(structured.trace_id, '');

    const error = mine.find((row) => row.severity_text === 'ERROR')!;
    assert.equal(error.timestamp, '1767323045678000000');
    assert.equal(error.severity_number, 17);
  }
});
