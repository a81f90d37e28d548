import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { MeshlogError } from '../../../src/errors.js';
import { newLogRecord, type LogRecord } from '../../../src/model/logRecord.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { LogWriter } from '../../../src/ingest/writer.js';
import { asMeshlogError, errorHandler } from '../../../src/http/errorReply.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { closeCompactLogRow, openCompactLogRow } from '../../../src/storage/logs/compactLogRow.js';
import { StorageError, storageError } from '../../../src/storage/engine/storageError.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/**
 * Issue 17, item 6: only a storage outage is retryable. Storage errors are
 * classified where storage throws (real embedded ClickHouse here), a row
 * storage refuses fails its own request only, and anything unexpected is a
 * non-retryable 500 whose error id is in the answer and in the log line.
 */

let storage: Storage;
const silent = pino({ level: 'silent' });
before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir(), database: 'meshlog', encryption: { enabled: false } }, silent);
});
after(async () => {
  await storage.close().catch(() => undefined);
});

function record(body: string, tenant: string, bytesSent = 0): LogRecord {
  return newLogRecord({
    tenant,
    receiver: 'test',
    body,
    mesh: {
      mesh: '',
      platform: '',
      cluster: '',
      sourceWorkload: '',
      destinationWorkload: '',
      protocol: '',
      responseCode: 0,
      durationMs: 0,
      bytesSent,
      bytesReceived: 0,
      requestId: '',
    },
  });
}

test('a row ClickHouse refuses is a storage refusal, not an outage', async () => {
  // A whole row as the writer spells it, but for a time ClickHouse cannot read.
  const row = closeCompactLogRow(openCompactLogRow(newLogRecord({ tenant: 't', body: 'x', receiver: 'test' })), {
    chainId: 't/w',
    batchSeq: 1,
    batchPos: 0,
  });
  const refusal = await storage.insertLogRows(row.replace(/^\["t","\d+"/, '["t","not a time"')).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(refusal instanceof StorageError, String(refusal));
  assert.equal(refusal.kind, 'refused', refusal.message);
  const answer = asMeshlogError(refusal);
  assert.equal(answer.status, 500);
  assert.equal(answer.retryable, false);
});

test('a group commit that storage refuses as data fails only the request that caused it', async () => {
  const writer = await LogWriter.open(
    storage,
    { writerId: 'w', maxQueuedRecords: 10_000, batchMaxRecords: 10_000, batchLingerMs: 50 },
    new Metrics(),
    silent,
  );
  // 1e300 bytes: JSON writes it 1e+300, which UInt64 bytes_sent cannot hold. Something a receiver let through.
  const poisoned = writer.write([record('poisoned', 'tenant-a', 1e300)], 'test');
  const neighbours = Array.from({ length: 20 }, (_, index) => writer.write([record(`neighbour ${index}`, 'tenant-b')], 'test'));
  const [attack, ...others] = await Promise.allSettled([poisoned, ...neighbours]);
  assert.equal(attack.status, 'rejected');
  const error = (attack as PromiseRejectedResult).reason as MeshlogError;
  assert.equal(error.code, 'ML_RECORDS_REFUSED', error.message);
  assert.equal(error.status, 400);
  assert.equal(error.retryable, false);
  assert.deepEqual(
    others.map((result) => result.status),
    Array(20).fill('fulfilled'),
  );
  const stored = await storage.rows<{ n: string }>(`SELECT toString(count()) AS n FROM meshlog.logs WHERE tenant = 'tenant-b'`);
  assert.equal(stored[0].n, '20');
  await writer.close();
});

test('an unexpected error is a non-retryable 500 with an error id that is in the server log', async () => {
  const logLines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
  const app = Fastify({ loggerInstance: pino({ level: 'info' }, stream) });
  app.setErrorHandler(errorHandler(new Metrics()));
  app.get('/bug', async () => {
    const missing = undefined as unknown as { field: string };
    return missing.field;
  });
  app.get('/outage', async () => {
    throw storageError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }));
  });
  const recurse = (depth: number): number => recurse(depth + 1) + 1;
  app.get('/overflow', async () => recurse(0));
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const address = app.server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}`;

    const bug = await fetch(`${base}/bug`);
    const bugBody = (await bug.json()) as { errorType: string; error: string };
    assert.equal(bug.status, 500);
    assert.equal(bug.headers.get('retry-after'), null, 'not retryable');
    assert.equal(bugBody.errorType, 'ML_INTERNAL');
    const id = /error id ([0-9a-f]{12})/.exec(bugBody.error)?.[1];
    assert.ok(id, bugBody.error);
    await new Promise((resolve) => setImmediate(resolve));
    const logged = logLines
      .map((line) => JSON.parse(line) as { errorId?: string; msg: string; stack?: string })
      .find((line) => line.errorId === id);
    assert.ok(logged, `the log has error id ${id}: ${logLines.join('\n')}`);
    assert.match(logged.stack ?? '', /TypeError/);

    const outage = await fetch(`${base}/outage`);
    assert.equal(outage.status, 503);
    assert.equal(outage.headers.get('retry-after'), '1');
    assert.equal(((await outage.json()) as { errorType: string }).errorType, 'ML_UNAVAILABLE');

    const overflow = await fetch(`${base}/overflow`);
    assert.equal(overflow.status, 400);
    assert.match(((await overflow.json()) as { error: string }).error, /nested deeper than 100 levels/);
  } finally {
    await app.close();
  }
});

test('storage that has gone away is an outage: retryable 503', async () => {
  // One embedded engine per process: the shared one, closed (the last test).
  await storage.close();
  const error = await storage.rows('SELECT 1').then(
    () => undefined,
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof StorageError, String(error));
  assert.equal(error.kind, 'unavailable');
  const answer = asMeshlogError(error);
  assert.equal(answer.code, 'ML_UNAVAILABLE');
  assert.equal(answer.retryable, true);
});
