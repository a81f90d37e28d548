import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { newLogRecord } from '../../../src/model/logRecord.js';
import type { SpanRecord } from '../../../src/model/spanRecord.js';
import { erasureMatch } from '../../../src/retention/erasureRequests.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { spanKey } from '../../../src/storage/logs/storedSpans.js';
import { ErasureStore, type ErasureRequest } from '../../../src/storage/stores/erasureStore.js';
import { testTempDir } from '../../support/testTempDir.js';

const request: ErasureRequest = {
  id: 'er-1',
  tenant: 'acme',
  selector: '{service_name="subject"}',
  reason: 'data subject request',
  requested_by: 'admin',
  requested_at: '2026-12-01T00:00:00.000Z',
  execute_after: '2026-12-01T00:00:00.000Z',
  status: 'executed',
  closed_by: 'admin',
  closed_at: '2026-12-01T00:00:00.000Z',
  cancel_reason: '',
  from_ns: '0',
  to_ns: String(BigInt(Date.now() + 3_600_000) * 1_000_000n),
  evidence: '',
};

// Records replayed from the stream after an erasure are checked in a Memory table shaped like logs. One left by an
// older version (before a migration added columns to logs) must not break the check or keep its old shape.
test('the replay probe of an embedded store is made anew with the current logs columns, and picks only what the erasure covers', async () => {
  const storage = await Storage.open(
    { dataDir: testTempDir('meshlog-probe-'), database: 'meshlog', encryption: { enabled: false } },
    pino({ level: 'silent' }),
  );
  try {
    await storage.client.command({ query: 'CREATE TABLE meshlog.erasure_replay_probe (stream_seq UInt64) ENGINE = Memory' });
    const records = [
      { tenant: 'acme', serviceName: 'subject', body: 'erased on replay' },
      { tenant: 'acme', serviceName: 'bystander', body: 'kept' },
      { tenant: 'globex', serviceName: 'subject', body: 'another tenant: kept' },
    ].map((fields, pos) => ({ ...newLogRecord({ ...fields, receiver: 'loki' }), stream: { seq: 7, pos } }));
    const erased = await new ErasureStore(storage).erasableUnstored(erasureMatch('meshlog', request), [], 7, records);
    assert.deepEqual([...erased], [0]);
    const left = await storage.rows<{ n: string }>('SELECT toString(count()) AS n FROM meshlog.erasure_replay_probe');
    assert.equal(left[0].n, '0', 'the probe keeps nothing once checked');
  } finally {
    await storage.close();
  }
});

test('spans replayed after an erasure: the probe picks only the spans the erasure covers, and keeps nothing', async () => {
  const storage = await Storage.open(
    { dataDir: testTempDir('meshlog-span-probe-'), database: 'meshlog', encryption: { enabled: false } },
    pino({ level: 'silent' }),
  );
  try {
    const span = (tenant: string, serviceName: string, spanId: string): SpanRecord => ({
      tenant,
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId,
      parentSpanId: '',
      traceState: '',
      name: 'POST /pay',
      kind: 'SERVER',
      startTimeUnixNano: BigInt(Date.now()) * 1_000_000n,
      durationNano: 1_000n,
      serviceName,
      resource: { 'service.name': serviceName },
      scopeName: '',
      scopeVersion: '',
      attributes: {},
      statusCode: 'UNSET',
      statusMessage: '',
      events: [],
      receiver: 'otlp_http',
    });
    const spans = [
      span('acme', 'subject', 'a1a1a1a1a1a1a1a1'),
      span('acme', 'bystander', 'b2b2b2b2b2b2b2b2'),
      span('globex', 'subject', 'c3c3c3c3c3c3c3c3'),
    ];
    const erased = await new ErasureStore(storage).erasableSpans(erasureMatch('meshlog', request), [], spans);
    assert.deepEqual([...erased], [spanKey(spans[0])]);
    const left = await storage.rows<{ n: string }>('SELECT toString(count()) AS n FROM meshlog.erasure_span_probe');
    assert.equal(left[0].n, '0', 'the probe keeps nothing once checked');
    const stored = await storage.rows<{ n: string }>('SELECT toString(count()) AS n FROM meshlog.spans');
    assert.equal(stored[0].n, '0', 'nothing reaches the spans table');
  } finally {
    await storage.close();
  }
});
