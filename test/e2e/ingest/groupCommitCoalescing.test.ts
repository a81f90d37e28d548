import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { newLogRecord, type LogRecord } from '../../../src/model/logRecord.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { LogWriter } from '../../../src/ingest/writer.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

// One embedded ClickHouse for the file (chDB binds one data directory per process); tests use distinct tenants.
const logger = pino({ level: 'silent' });
let storage: Storage;

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-coalescing-'), database: 'meshlog' }, logger);
});
after(async () => {
  await storage.close();
});

/**
 * A linger far past any test's run: a commit that waited for it would time the
 * test out. These tests commit through exempt writes and the commit loop only,
 * which never linger, so only coalescing could make them wait.
 */
const neverMs = 600_000;

async function writer(metrics: Metrics): Promise<LogWriter> {
  return LogWriter.open(
    storage,
    { writerId: 'w1', maxQueuedRecords: 100_000, batchMaxRecords: 10_000, batchLingerMs: neverMs },
    metrics,
    logger,
  );
}

function records(tenant: string, name: string, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, i) => newLogRecord({ tenant, body: `${name} ${i}`, receiver: 'otlp_http' }));
}

/** Records per insert, in order of commit, as the writer's metrics saw them. */
async function commitSizes(metrics: Metrics): Promise<{ count: number; sum: number }> {
  const metric = await metrics.batchRecords.get();
  const value = (name: string) => metric.values.find((sample) => sample.metricName === name)?.value ?? 0;
  return { count: value('meshlog_batch_records_count'), sum: value('meshlog_batch_records_sum') };
}

async function storedCount(tenant: string): Promise<number> {
  const [row] = await storage.rows<{ n: string }>(`SELECT count() AS n FROM meshlog.logs WHERE tenant = {tenant:String}`, { tenant });
  return Number(row.n);
}

test('a commit waits for a request announced while the previous one committed, and takes it in the same insert', async () => {
  const metrics = new Metrics();
  const log = await writer(metrics);
  // A commits at once; B queues behind it while a third request is still on its way.
  const first = log.write(records('coalesce', 'a', 5), 'otlp_http', { exempt: true });
  const arrived = log.expectWrite();
  const second = log.write(records('coalesce', 'b', 7), 'otlp_http');
  await first;
  // Without coalescing, B would be in its own insert by now: taken the moment A's ended, before this turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  const third = log.write(records('coalesce', 'c', 11), 'otlp_http');
  arrived();
  await Promise.all([second, third]);
  assert.deepEqual(await commitSizes(metrics), { count: 2, sum: 23 });
  assert.equal(await storedCount('coalesce'), 23);
  await log.close();
});

test('an exempt write (the audit trail) commits without waiting for announced requests', async () => {
  const metrics = new Metrics();
  const log = await writer(metrics);
  const arrived = log.expectWrite();
  const first = log.write(records('exempt', 'a', 3), 'otlp_http', { exempt: true });
  const queued = log.write(records('exempt', 'b', 2), 'otlp_http');
  // The audit record comes while A commits: the next insert takes B and it at once, the announced request never having come.
  await log.write(records('exempt', 'audit', 1), 'otlp_http', { exempt: true });
  await Promise.all([first, queued]);
  assert.equal(await storedCount('exempt'), 6);
  arrived();
  await log.close();
});

test('closing the writer commits what waits for a request that never comes', async () => {
  const metrics = new Metrics();
  const log = await writer(metrics);
  const first = log.write(records('closing', 'a', 4), 'otlp_http', { exempt: true });
  log.expectWrite(); // announced, never arrives
  const waiting = log.write(records('closing', 'b', 6), 'otlp_http');
  await first;
  await log.close();
  await waiting;
  assert.equal(await storedCount('closing'), 10);
});

test('an announcement ended twice counts once', async () => {
  const metrics = new Metrics();
  const log = await writer(metrics);
  const first = log.write(records('twice', 'a', 2), 'otlp_http', { exempt: true });
  const arrived = log.expectWrite();
  const pending = log.expectWrite();
  arrived();
  arrived(); // must not also end `pending`'s announcement
  const second = log.write(records('twice', 'b', 3), 'otlp_http');
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  const third = log.write(records('twice', 'c', 5), 'otlp_http');
  pending();
  await Promise.all([second, third]);
  // B and C in one insert: B's commit still waited for the second announcement.
  assert.deepEqual(await commitSizes(metrics), { count: 2, sum: 10 });
  await log.close();
});
