import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeRecords, encodeRecords } from '../../src/cluster/recordCodec.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import { emptyMeshFields, newLogRecord, type LogRecord } from '../../src/model/logRecord.js';
import { tempDataDir } from '../support/meshlogProcess.js';

const record = (body: string, extra: Partial<LogRecord> = {}): LogRecord =>
  newLogRecord({ tenant: 't1', body, receiver: 'loki', timeUnixNano: 1_700_000_000_123_456_789n, ...extra });

test('a stream message gives back every field of its records, nanosecond times and absent mesh fields included', () => {
  const records = [
    record('plain', { attributes: { 'log.record.uid': 'u1', k: 'v' }, patternId: 'p7' }),
    record('with mesh fields', { mesh: { ...emptyMeshFields(), mesh: 'istio', responseCode: 503, durationMs: 12.5, bytesSent: 2 ** 40 } }),
    record('ünïcödé\u0000 and a long body '.repeat(50), { severityNumber: 17, traceId: 'a'.repeat(32) }),
  ];
  const [message] = encodeRecords(records, 'otlp_http', 1 << 20);
  assert.deepEqual(decodeRecords(message.payload), { receiver: 'otlp_http', records });
});

test('the same request resent later (other receipt time, other pattern ids) gets the same message ids; other content does not', () => {
  const first = encodeRecords([record('a'), record('b')], 'loki', 1 << 20);
  const resent = encodeRecords(
    [record('a', { observedTimeUnixNano: 5n, patternId: 'x' }), record('b', { observedTimeUnixNano: 6n })],
    'loki',
    1 << 20,
  );
  assert.deepEqual(
    resent.map((message) => message.id),
    first.map((message) => message.id),
  );
  const other = encodeRecords([record('a'), record('c')], 'loki', 1 << 20);
  assert.notEqual(other[0].id, first[0].id);
});

test('records with ids are deduplicated by their ids, so a resend with other content details still matches', () => {
  const withIds = (body: string) => [record(body, { attributes: { 'log.record.uid': 'same' } })];
  assert.equal(encodeRecords(withIds('one'), 'loki', 1 << 20)[0].id, encodeRecords(withIds('two'), 'loki', 1 << 20)[0].id);
  // The same id in another tenant is another record.
  const otherTenant = [record('one', { tenant: 't2', attributes: { 'log.record.uid': 'same' } })];
  assert.notEqual(encodeRecords(otherTenant, 'loki', 1 << 20)[0].id, encodeRecords(withIds('one'), 'loki', 1 << 20)[0].id);
});

test('a large request is split under the message size, and two identical slices of it keep distinct ids', () => {
  const records = Array.from({ length: 400 }, () => record('x'.repeat(1000)));
  const messages = encodeRecords(records, 'loki', 100_000);
  assert.ok(messages.length >= 4, `${messages.length} messages`);
  for (const message of messages) assert.ok(message.payload.length <= 100_000, `${message.payload.length} bytes`);
  assert.equal(new Set(messages.map((message) => message.id)).size, messages.length);
  assert.equal(messages.flatMap((message) => decodeRecords(message.payload).records).length, records.length);
  // A record larger than the limit travels alone rather than being refused here.
  const huge = encodeRecords([record('y'.repeat(200_000)), record('z')], 'loki', 100_000);
  assert.deepEqual(
    huge.map((message) => message.records),
    [1, 1],
  );
});

test('the cluster section is off by default and refuses a node id NATS could not carry, naming the key', () => {
  const dir = tempDataDir('meshlog-config-');
  assert.equal(loadConfig({ env: {} }).cluster.enabled, false);
  const file = join(dir, 'meshlog.yaml');
  writeFileSync(file, 'cluster:\n  enabled: true\n  node_id: "a.b"\n');
  assert.throws(() => loadConfig({ file, env: {} }), /cluster\.node_id/);
  writeFileSync(file, 'cluster:\n  enabled: true\n  stream:\n    replicas: 7\n');
  assert.throws(() => loadConfig({ file, env: {} }), /cluster\.stream\.replicas/);
  writeFileSync(file, 'cluster:\n  enabled: true\n  nats:\n    servers: []\n');
  assert.throws(() => loadConfig({ file, env: {} }), /cluster\.nats\.servers/);
});
