import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { LogWriter } from '../../../src/ingest/writer.js';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { batchDeduplicationToken, deduplicationWindow } from '../../../src/storage/engine/insertDeduplication.js';
import { testTempDir } from '../../support/testTempDir.js';

// One embedded chDB for the file (chDB binds one data directory per process); tests use distinct tenants.
const logger = pino({ level: 'silent' });
const dataDir = testTempDir('meshlog-dedup-');
let storage: Storage;

/** The logs table as a single ClickHouse server has it (with the deduplication window), in this embedded engine. */
const serverLogs = 'logs_server';

before(async () => {
  // A store of an earlier version: its logs table has the deduplication window.
  const earlier = await Storage.open({ dataDir, database: 'meshlog', encryption: { enabled: false } }, logger);
  await earlier.client.command({
    query: `ALTER TABLE meshlog.logs MODIFY SETTING non_replicated_deduplication_window = ${deduplicationWindow}`,
  });
  await earlier.close();
  storage = await Storage.open({ dataDir, database: 'meshlog', encryption: { enabled: false } }, logger);
  await storage.client.command({ query: `CREATE TABLE meshlog.${serverLogs} AS meshlog.logs` });
  await storage.client.command({
    query: `ALTER TABLE meshlog.${serverLogs} MODIFY SETTING non_replicated_deduplication_window = ${deduplicationWindow}`,
  });
});
after(async () => {
  await storage.close();
});

const day = 86_400_000_000_000n;
const firstDay = 1_780_000_000_000_000_000n;

/** JSONEachRow lines of one chain batch; `days` > 1 spreads them over day partitions (one insert block each). */
function batchBody(tenant: string, batchSeq: number, rows: number, days = 1): string {
  return Array.from(
    { length: rows },
    (_, pos) =>
      `${JSON.stringify({
        tenant,
        timestamp: String(firstDay + BigInt(pos % days) * day + BigInt(pos)),
        body: `line ${pos}`,
        chain_id: `${tenant}/w1`,
        batch_seq: batchSeq,
        batch_pos: pos,
      })}\n`,
  ).join('');
}

async function storedRows(tenant: string, table = serverLogs): Promise<number> {
  const [row] = await storage.rows<{ rows: string }>(
    `SELECT toString(count()) AS rows FROM meshlog.${table} WHERE tenant = {tenant:String}`,
    {
      tenant,
    },
  );
  return Number(row.rows);
}

/** An insert into the server-shaped logs table, as Storage.insertLogRows sends it to a ClickHouse server. */
function insertToServer(body: string, deduplicationToken?: string): Promise<void> {
  return storage.insertJsonLines(serverLogs, body, { deduplicationToken });
}

async function logsWindow(table: string): Promise<string> {
  const [row] = await storage.rows<{ window: string }>(
    `SELECT extract(create_table_query, 'non_replicated_deduplication_window = ([0-9]+)') AS window
     FROM system.tables WHERE database = 'meshlog' AND name = {table:String}`,
    { table },
  );
  return row.window;
}

test('the token names the chain batches of an insert: another sequence or chain is another token', () => {
  const token = batchDeduplicationToken([
    { chainId: 'acme/w1', batchSeq: 7 },
    { chainId: 'globex/w1', batchSeq: 3 },
  ]);
  assert.match(token, /^meshlog-batch-[0-9a-f]{64}$/);
  assert.equal(
    token,
    batchDeduplicationToken([
      { chainId: 'acme/w1', batchSeq: 7 },
      { chainId: 'globex/w1', batchSeq: 3 },
    ]),
  );
  assert.notEqual(
    token,
    batchDeduplicationToken([
      { chainId: 'acme/w1', batchSeq: 8 },
      { chainId: 'globex/w1', batchSeq: 3 },
    ]),
  );
  assert.notEqual(
    token,
    batchDeduplicationToken([
      { chainId: 'acme/w2', batchSeq: 7 },
      { chainId: 'globex/w1', batchSeq: 3 },
    ]),
  );
  assert.notEqual(batchDeduplicationToken([{ chainId: 'a', batchSeq: 11 }]), batchDeduplicationToken([{ chainId: 'a:1', batchSeq: 1 }]));
});

test('embedded chDB takes no token, and the window an earlier version gave its logs table is taken off at open', async () => {
  assert.equal(storage.deduplicatesInserts, false);
  assert.equal(await logsWindow('logs'), '');
  assert.equal(await logsWindow(serverLogs), String(deduplicationWindow));
});

test('a replayed log batch (same chain and sequence) lands once where the token is sent', async () => {
  const token = batchDeduplicationToken([{ chainId: 'replay/w1', batchSeq: 1 }]);
  await insertToServer(batchBody('replay', 1, 500), token);
  await insertToServer(batchBody('replay', 1, 500), token);
  assert.equal(await storedRows('replay'), 500);
});

test('a replayed batch cut into one insert block per day partition lands once, every block of it', async () => {
  const token = batchDeduplicationToken([{ chainId: 'days/w1', batchSeq: 1 }]);
  await insertToServer(batchBody('days', 1, 300, 3), token);
  const [parts] = await storage.rows<{ partitions: string }>(
    `SELECT toString(uniqExact(toDate(timestamp))) AS partitions FROM meshlog.${serverLogs} WHERE tenant = 'days'`,
  );
  assert.equal(Number(parts.partitions), 3);
  await insertToServer(batchBody('days', 1, 300, 3), token);
  assert.equal(await storedRows('days'), 300);
});

test('the same rows under the next sequence are another batch and are stored, so identical lines are never lost', async () => {
  const body = batchBody('twice', 1, 50);
  await insertToServer(body, batchDeduplicationToken([{ chainId: 'twice/w1', batchSeq: 1 }]));
  await insertToServer(body, batchDeduplicationToken([{ chainId: 'twice/w1', batchSeq: 2 }]));
  assert.equal(await storedRows('twice'), 100);
});

test("rows inserted again without a token (a broken part's rows put back by the repair) are not taken for a replay", async () => {
  const body = batchBody('repair', 1, 40);
  await insertToServer(body, batchDeduplicationToken([{ chainId: 'repair/w1', batchSeq: 1 }]));
  await storage.insertJsonLines(serverLogs, body, { diskChecked: true });
  assert.equal(await storedRows('repair'), 80);
});

test("embedded, the writer's commits store every batch once: each under a sequence of its own", async () => {
  const writer = await LogWriter.open(
    storage,
    { writerId: 'w1', maxQueuedRecords: 10_000, batchMaxRecords: 10_000, batchLingerMs: 0 },
    new Metrics(),
    logger,
  );
  try {
    for (let request = 0; request < 3; request++) {
      // The same lines each time: identical rows of different batches are never taken for a replay.
      const records = Array.from({ length: 20 }, (_, i) =>
        newLogRecord({ tenant: 'written', body: `written ${i}`, receiver: 'otlp_http', timeUnixNano: firstDay + BigInt(i) }),
      );
      await writer.write(records, 'otlp_http');
    }
  } finally {
    await writer.close();
  }
  const [stored] = await storage.rows<{ batches: string; rows: string }>(
    `SELECT toString(uniqExact(batch_seq)) AS batches, toString(count()) AS rows FROM meshlog.logs WHERE chain_id = 'written/w1'`,
  );
  assert.deepEqual(stored, { batches: '3', rows: '60' });
});
