import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { LogWriter } from '../../../src/ingest/writer.js';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { batchDeduplicationToken, deduplicationWindow } from '../../../src/storage/logs/insertDeduplication.js';
import { testTempDir } from '../../support/testTempDir.js';

// One embedded chDB for the file (chDB binds one data directory per process); tests use distinct tenants.
const logger = pino({ level: 'silent' });
const dataDir = testTempDir('meshlog-dedup-');
let storage: Storage;

before(async () => {
  storage = await Storage.open({ dataDir, database: 'meshlog', encryption: { enabled: false } }, logger);
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

async function storedRows(tenant: string): Promise<number> {
  const [row] = await storage.rows<{ rows: string }>(`SELECT toString(count()) AS rows FROM meshlog.logs WHERE tenant = {tenant:String}`, {
    tenant,
  });
  return Number(row.rows);
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

test('the logs table of embedded chDB has a deduplication window (a plain MergeTree ignores tokens without one)', async () => {
  const [table] = await storage.rows<{ create_table_query: string }>(
    `SELECT create_table_query FROM system.tables WHERE database = 'meshlog' AND name = 'logs'`,
  );
  assert.match(table.create_table_query, new RegExp(`non_replicated_deduplication_window = ${deduplicationWindow}\\b`));
});

test('a replayed log batch (same chain and sequence) lands once on embedded chDB', async () => {
  const token = batchDeduplicationToken([{ chainId: 'replay/w1', batchSeq: 1 }]);
  await storage.insertLogRows(batchBody('replay', 1, 500), { deduplicationToken: token });
  await storage.insertLogRows(batchBody('replay', 1, 500), { deduplicationToken: token });
  assert.equal(await storedRows('replay'), 500);
});

test('a replayed batch cut into one insert block per day partition lands once, every block of it', async () => {
  const token = batchDeduplicationToken([{ chainId: 'days/w1', batchSeq: 1 }]);
  await storage.insertLogRows(batchBody('days', 1, 300, 3), { deduplicationToken: token });
  const [parts] = await storage.rows<{ partitions: string }>(
    `SELECT toString(uniqExact(toDate(timestamp))) AS partitions FROM meshlog.logs WHERE tenant = 'days'`,
  );
  assert.equal(Number(parts.partitions), 3);
  await storage.insertLogRows(batchBody('days', 1, 300, 3), { deduplicationToken: token });
  assert.equal(await storedRows('days'), 300);
});

test('the same rows under the next sequence are another batch and are stored, so identical lines are never lost', async () => {
  const body = batchBody('twice', 1, 50);
  await storage.insertLogRows(body, { deduplicationToken: batchDeduplicationToken([{ chainId: 'twice/w1', batchSeq: 1 }]) });
  await storage.insertLogRows(body, { deduplicationToken: batchDeduplicationToken([{ chainId: 'twice/w1', batchSeq: 2 }]) });
  assert.equal(await storedRows('twice'), 100);
});

test("rows inserted again without a token (a broken part's rows put back by the repair) are not taken for a replay", async () => {
  const body = batchBody('repair', 1, 40);
  await storage.insertLogRows(body, { deduplicationToken: batchDeduplicationToken([{ chainId: 'repair/w1', batchSeq: 1 }]) });
  await storage.insertJsonLines('logs', body, { diskChecked: true });
  assert.equal(await storedRows('repair'), 80);
});

test("the writer's commit carries its batch's token: the same chain and sequence inserted again stores nothing", async () => {
  const writer = await LogWriter.open(
    storage,
    { writerId: 'w1', maxQueuedRecords: 10_000, batchMaxRecords: 10_000, batchLingerMs: 0 },
    new Metrics(),
    logger,
  );
  try {
    const records = Array.from({ length: 20 }, (_, i) =>
      newLogRecord({ tenant: 'written', body: `written ${i}`, receiver: 'otlp_http', timeUnixNano: firstDay + BigInt(i) }),
    );
    await writer.write(records, 'otlp_http');
  } finally {
    await writer.close();
  }
  const [head] = await storage.rows<{ seq: string }>(
    `SELECT toString(max(batch_seq)) AS seq FROM meshlog.logs WHERE chain_id = 'written/w1'`,
  );
  assert.equal(Number(head.seq), 1);
  await storage.insertLogRows(batchBody('written', 1, 20), {
    deduplicationToken: batchDeduplicationToken([{ chainId: 'written/w1', batchSeq: 1 }]),
  });
  assert.equal(await storedRows('written'), 20);
});
