import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { erasureMatch } from '../../../src/retention/erasureRequests.js';
import { Storage } from '../../../src/storage/engine/storage.js';
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
