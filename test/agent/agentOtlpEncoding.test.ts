import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchBuilder, fixed64 } from '../../src/agent/delivery/batchBuilder.js';
import { agentScope, encodeRequest } from '../../src/agent/delivery/otlpRequest.js';
import { Source } from '../../src/agent/source.js';
import { loadProtos } from '../../src/formats/protoRoot.js';

const ExportLogsServiceRequest = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']).lookupType(
  'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
);

/** The agent's own protobuf writer against protobufjs encoding the same request: decoded, both are the same message. */
test('OTLP batches written without protobufjs decode to the request protobufjs would encode', () => {
  const builder = new BatchBuilder({ maxRecords: 100_000, maxBytes: 1e9 });
  const files = [
    new Source('1:2:ab:3', '/var/log/app.log', { 'host.name': 'node-1', 'log.file.path': '/var/log/app.log' }, undefined),
    new Source(
      '1:3:cd:4',
      '/var/log/été.log',
      { 'host.name': 'node-1', 'log.file.path': '/var/log/été.log', 'service.name': 'ünïcode' },
      undefined,
    ),
  ];
  const bodies = ['plain', 'ünïcode ✓ 𝄞', '', 'x'.repeat(200), 'y'.repeat(70_000), 'z'.repeat(2_100_000)];
  let n = 0;
  for (const body of bodies) {
    for (const source of files) {
      n++;
      builder.add(source, {
        ...(n % 2 === 0 && { timeUnixNano: fixed64(1_732_540_000_123_456_789n + BigInt(n)) }),
        ...(n % 3 === 0 && { severityNumber: 17, severityText: 'ERROR' }),
        observedTimeUnixNano: fixed64(BigInt(Date.now()) * 1_000_000n),
        body: { stringValue: body },
        attributes: [
          { key: 'log.record.uid', value: { stringValue: `${source.uidPrefix}-${n}` } },
          { key: 'log.iostream', value: { stringValue: 'stdout' } },
        ],
      });
    }
  }
  const batch = builder.cut([]);
  const resourceLogs = [...batch.bySource].map(([source, logRecords]) => ({
    resource: { attributes: source.resource },
    scopeLogs: [{ scope: agentScope, logRecords }],
  }));
  const expected = ExportLogsServiceRequest.encode({ resourceLogs }).finish();
  const decode = (bytes: Uint8Array) => ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(bytes), { longs: String });
  const written = decode(encodeRequest(batch));
  assert.deepEqual(written, decode(expected));
  assert.equal((written as { resourceLogs: unknown[] }).resourceLogs.length, 2);
});
