import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOtlpLogsJson, decodeOtlpLogsProtobuf } from '../../../../src/ingest/sources/otlp/otlpLogs.js';
import { loadProtos } from '../../../../src/formats/protoRoot.js';

const ExportLogsServiceRequest = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']).lookupType(
  'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
);

/** OTLP/JSON of one record with 64-bit values at the edges: past 2^53, top bit set, negative. */
const json = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'edge' } }] },
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: '9223372036854775809',
              observedTimeUnixNano: '1732546000123456789',
              body: { intValue: '-9007199254740993' },
              attributes: [
                { key: 'big', value: { intValue: '9223372036854775807' } },
                { key: 'list', value: { arrayValue: { values: [{ intValue: '42' }, { intValue: '-7' }] } } },
              ],
            },
          ],
        },
      ],
    },
  ],
};

test('64-bit times and integers decode from protobuf exactly as from OTLP/JSON', () => {
  const protobuf = ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(json)).finish();
  const fromProtobuf = decodeOtlpLogsProtobuf(protobuf, 'default', 'otlp_http');
  const fromJson = decodeOtlpLogsJson(Buffer.from(JSON.stringify(json)), 'default', 'otlp_http');
  assert.equal(fromProtobuf.rejected, 0);
  assert.deepEqual(fromProtobuf.records, fromJson.records);
  const [record] = fromProtobuf.records;
  assert.equal(record.timeUnixNano, 9223372036854775809n);
  assert.equal(record.observedTimeUnixNano, 1732546000123456789n);
  assert.equal(record.body, '-9007199254740993');
  assert.deepEqual(record.attributes, { big: '9223372036854775807', list: '[42,-7]' });
});

test('an object where OTLP/JSON wants a time is rejected, not read as a number', () => {
  const bad = structuredClone(json);
  (bad.resourceLogs[0].scopeLogs[0].logRecords[0] as Record<string, unknown>).timeUnixNano = { low: 1, high: 2, unsigned: true };
  const decoded = decodeOtlpLogsJson(Buffer.from(JSON.stringify(bad)), 'default', 'otlp_http');
  assert.equal(decoded.records.length, 0);
  assert.equal(decoded.rejected, 1);
});
