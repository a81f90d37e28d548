import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { newLogRecord, type LogRecord } from '../../../src/model/logRecord.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { RedeliveryFilter, recordIdAttribute } from '../../../src/ingest/redeliveryFilter.js';
import { LogWriter } from '../../../src/ingest/writer.js';
import { RecordIdStore } from '../../../src/storage/logs/recordIdStore.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

// One embedded ClickHouse for the file (chDB binds one data directory per process); tests use distinct tenants.
const logger = pino({ level: 'silent' });
let storage: Storage;
let writer: LogWriter;

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-redelivery-'), database: 'meshlog' }, logger);
  writer = await LogWriter.open(
    storage,
    { writerId: 'w1', maxQueuedRecords: 100_000, batchMaxRecords: 10_000, batchLingerMs: 5 },
    new Metrics(),
    logger,
  );
});
after(async () => {
  await writer.close();
  await storage.close();
});

const startMs = 1_780_000_000_000;

function records(tenant: string, ids: string[], observedMs: number, service = 'checkout'): LogRecord[] {
  return ids.map((id, i) =>
    newLogRecord({
      tenant,
      body: `line ${id}`,
      receiver: 'otlp_http',
      serviceName: service,
      timeUnixNano: BigInt(observedMs + i) * 1_000_000n,
      observedTimeUnixNano: BigInt(observedMs) * 1_000_000n,
      attributes: { [recordIdAttribute]: id },
    }),
  );
}

async function storedBodies(tenant: string): Promise<string[]> {
  const rows = await storage.rows<{ body: string }>(`SELECT body FROM meshlog.logs WHERE tenant = {tenant:String} ORDER BY body`, {
    tenant,
  });
  return rows.map((row) => row.body);
}

/** A filter on the real writer and storage, on a clock the test moves. */
function filter(
  options: {
    startsAt?: number;
    maxRememberedIds?: number;
    maxForgottenIds?: number;
    clockSkewMs?: number;
    storageEmptyAtStart?: boolean;
    write?: (records: LogRecord[], receiver: string) => Promise<void>;
  } = {},
) {
  const clock = { now: options.startsAt ?? startMs };
  const dropped: number[] = [];
  const lookups: string[][] = [];
  const recordIds = new RecordIdStore(storage);
  const instance = new RedeliveryFilter(
    {
      maxRememberedIds: options.maxRememberedIds ?? 1000,
      clockSkewMs: options.clockSkewMs ?? 1000,
      maxForgottenIds: options.maxForgottenIds ?? 1000,
      storageEmptyAtStart: options.storageEmptyAtStart,
    },
    {
      write: options.write ?? ((batch, receiver) => writer.write(batch, receiver)),
      storedIds: async (query) => {
        lookups.push(query.ids);
        return recordIds.storedIds(query);
      },
      countDropped: (_receiver, count) => dropped.push(count),
      now: () => clock.now,
    },
  );
  return { instance, clock, dropped, lookups };
}

test('a batch sent again is dropped from memory: stored once, the copies counted, storage not asked', async () => {
  const { instance, dropped, lookups } = filter();
  const batch = () => records('again', ['a-0', 'a-1', 'a-2'], startMs + 5000);
  await instance.write(batch(), 'otlp_http');
  await instance.write(batch(), 'otlp_http');
  await instance.write([...batch(), ...records('again', ['a-3'], startMs + 5000)], 'otlp_http');
  assert.deepEqual(await storedBodies('again'), ['line a-0', 'line a-1', 'line a-2', 'line a-3']);
  assert.deepEqual(dropped, [3, 3]);
  assert.deepEqual(lookups, [], 'records observed after the memory began need no lookup');
});

test('after a restart (empty memory), records observed before it are looked up in storage and redeliveries dropped', async () => {
  const first = filter();
  await first.instance.write(records('restart', ['r-0', 'r-1'], startMs + 5000), 'otlp_http');
  // A new process: its memory begins later than the records were observed.
  const { instance: restarted, dropped, lookups } = filter({ startsAt: startMs + 60_000 });
  await restarted.write(records('restart', ['r-0', 'r-1', 'r-2'], startMs + 5000), 'otlp_http');
  assert.deepEqual(await storedBodies('restart'), ['line r-0', 'line r-1', 'line r-2']);
  assert.deepEqual(dropped, [2]);
  assert.deepEqual(lookups, [['r-0', 'r-1', 'r-2']]);
  // Now remembered: a further copy is dropped without storage.
  await restarted.write(records('restart', ['r-2'], startMs + 5000), 'otlp_http');
  assert.deepEqual(dropped, [2, 1]);
  assert.equal(lookups.length, 1);
});

test('a store that was empty at start holds no earlier copy: records observed before the start need no lookup, copies are still dropped from memory', async () => {
  const { instance, dropped, lookups } = filter({ startsAt: startMs + 60_000, storageEmptyAtStart: true });
  await instance.write(records('fresh', ['f-0', 'f-1'], startMs), 'otlp_http');
  await instance.write(records('fresh', ['f-1'], startMs), 'otlp_http');
  assert.deepEqual(lookups, []);
  assert.deepEqual(dropped, [1]);
  assert.deepEqual(await storedBodies('fresh'), ['line f-0', 'line f-1']);
});

test('two copies arriving at once are written once, and both requests are acknowledged', async () => {
  const { instance, dropped } = filter();
  const batch = () => records('together', ['t-0', 't-1', 't-2', 't-3'], startMs + 5000);
  await Promise.all([instance.write(batch(), 'otlp_http'), instance.write(batch(), 'otlp_http'), instance.write(batch(), 'otlp_http')]);
  assert.deepEqual(await storedBodies('together'), ['line t-0', 'line t-1', 'line t-2', 'line t-3']);
  assert.deepEqual(dropped, [4, 4]);
});

test('a copy waiting on a write that fails is written itself; the failed request is refused', async () => {
  let fail = true;
  const { instance } = filter({
    write: async (batch, receiver) => {
      if (fail) {
        fail = false;
        throw new Error('storage unavailable');
      }
      await writer.write(batch, receiver);
    },
  });
  const batch = () => records('failed', ['f-0', 'f-1'], startMs + 5000);
  const [first, second] = await Promise.allSettled([instance.write(batch(), 'otlp_http'), instance.write(batch(), 'otlp_http')]);
  assert.equal(first.status, 'rejected');
  assert.equal(second.status, 'fulfilled');
  assert.deepEqual(await storedBodies('failed'), ['line f-0', 'line f-1']);
});

test('ids forgotten past the memory bound are found in storage; records observed after the bound moved need no lookup', async () => {
  const { instance, clock, dropped, lookups } = filter({ maxRememberedIds: 2, clockSkewMs: 1000 });
  clock.now = startMs + 10_000;
  await instance.write(records('bounded', ['b-0'], startMs + 5000), 'otlp_http');
  lookups.length = 0;
  clock.now = startMs + 20_000;
  await instance.write(records('bounded', ['b-1', 'b-2'], startMs + 19_000), 'otlp_http');
  // b-0 was forgotten (committed at +10 s): memory now covers commits from +10 s on.
  await instance.write(records('bounded', ['b-0'], startMs + 5000), 'otlp_http');
  assert.deepEqual(lookups, [['b-0']], 'the forgotten id was looked up');
  assert.deepEqual(dropped, [1]);
  clock.now = startMs + 30_000;
  await instance.write(records('bounded', ['b-9'], startMs + 28_000), 'otlp_http');
  assert.deepEqual(lookups, [['b-0']], 'observed after memory coverage plus skew: memory decides');
  assert.deepEqual(await storedBodies('bounded'), ['line b-0', 'line b-1', 'line b-2', 'line b-9']);
});

test('a backlog older than memory skips storage when the Bloom filter of forgotten ids rules its ids out; past the filter’s capacity, storage is asked again', async () => {
  const { instance, clock, dropped, lookups } = filter({ maxRememberedIds: 2, maxForgottenIds: 4, clockSkewMs: 1000 });
  const write = (ids: string[], observedMs: number) => instance.write(records('backlog', ids, startMs + observedMs), 'otlp_http');
  clock.now = startMs + 10_000;
  await write(['c-0', 'c-1'], 9000);
  clock.now = startMs + 20_000;
  await write(['c-2', 'c-3'], 19_000);
  // c-0 and c-1 are forgotten into the filter: a new line observed as early needs no lookup, a copy of c-0 does.
  await write(['new-0'], 5000);
  assert.deepEqual(lookups, [], 'never committed, as the filter proves: no lookup');
  await write(['c-0'], 9000);
  assert.deepEqual(lookups, [['c-0']]);
  assert.deepEqual(dropped, [1]);
  await write(['new-1'], 5000);
  assert.deepEqual(lookups, [['c-0']]);
  // Forgetting new-0 overflowed the filter (4 ids): it starts over from new-0's commit, older records go to storage again.
  await write(['new-2'], 5000);
  assert.deepEqual(lookups, [['c-0'], ['new-2']]);
  assert.deepEqual(await storedBodies('backlog'), [
    'line c-0',
    'line c-1',
    'line c-2',
    'line c-3',
    'line new-0',
    'line new-1',
    'line new-2',
  ]);
});

test('records without an id, and ids of another tenant, are never dropped', async () => {
  const { instance, dropped } = filter();
  const plain = () => [newLogRecord({ tenant: 'plain', body: 'no id', receiver: 'loki' })];
  await instance.write(plain(), 'loki');
  await instance.write(plain(), 'loki');
  await instance.write(records('tenant-a', ['same'], startMs + 5000), 'otlp_http');
  await instance.write(records('tenant-b', ['same'], startMs + 5000), 'otlp_http');
  assert.deepEqual(await storedBodies('plain'), ['no id', 'no id']);
  assert.deepEqual(await storedBodies('tenant-b'), ['line same']);
  assert.deepEqual(dropped, []);
});
