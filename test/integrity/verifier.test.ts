import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { hashBatchContent } from '../../src/integrity/batchSeal.js';
import { ChainSealer } from '../../src/integrity/chainSealer.js';
import { loadOrCreateSigner, type NoteSigner } from '../../src/integrity/signedNote.js';
import { verifyIntegrity } from '../../src/integrity/verifier.js';
import { LogWriter } from '../../src/ingest/writer.js';
import { newLogRecord, type LogRecord } from '../../src/model/logRecord.js';
import { Metrics } from '../../src/observability/metrics.js';
import { Storage } from '../../src/storage/engine/storage.js';
import { closeLogRow, openLogRow } from '../../src/storage/logs/logRows.js';
import { sealJournalDir, SealJournal } from '../../src/storage/logs/sealJournal.js';
import { SealStore } from '../../src/storage/logs/sealStore.js';
import { tempDataDir } from '../support/meshlogProcess.js';

/**
 * A store upgraded in place holds batches sealed as JSONEachRow objects (before
 * migration 29) and batches the writer now seals as JSONCompactEachRow arrays,
 * in one chain: verify rebuilds each batch's lines in its own format.
 */

const silent = pino({ level: 'silent' });
const chainId = 'acme/w';
let storage: Storage;
let store: SealStore;
let signer: NoteSigner;

function records(batch: number): LogRecord[] {
  return Array.from({ length: 3 }, (_, i) =>
    newLogRecord({ tenant: 'acme', body: `batch ${batch} record ${i} "quoted" ✓`, receiver: 'test', attributes: { i: String(i) } }),
  );
}

before(async () => {
  const dataDir = tempDataDir('meshlog-verifier-');
  storage = await Storage.open({ dataDir, database: 'meshlog', encryption: { enabled: false } }, silent);
  signer = loadOrCreateSigner(`${dataDir}-signing.key`, 'meshlog-w').signer;
  store = new SealStore(storage, { journal: new SealJournal(sealJournalDir(dataDir)), hashContent: hashBatchContent });
  const sealer = await ChainSealer.open(store, signer, 'w', silent);

  // Batch 1 as the writer sealed and inserted it before: JSONEachRow lines.
  const lines = records(1).map((record, batchPos) => closeLogRow(openLogRow(record), { chainId, batchSeq: 1, batchPos }));
  const bytes = Buffer.from(lines.join(''));
  const lineEnds = Uint32Array.from(lines.map((_, i) => Buffer.byteLength(lines.slice(0, i + 1).join(''))));
  const time = records(1)[0].timeUnixNano;
  const seals = sealer.seal([
    { chainId, tenant: 'acme', batchSeq: 1, lineFormat: 'JSONEachRow', bytes, lineEnds, minTimeNs: time, maxTimeNs: time },
  ]);
  store.journalBatches(seals);
  sealer.advance(seals);
  await storage.insertJsonLines('logs', bytes);

  // Batch 2 through today's writer.
  const writer = await LogWriter.open(
    storage,
    { writerId: 'w', maxQueuedRecords: 10_000, batchMaxRecords: 10_000, batchLingerMs: 0 },
    new Metrics(),
    silent,
    { sealer, store },
  );
  await writer.write(records(2), 'test');
  await writer.close();
  await sealer.checkpoint();
});

after(async () => {
  await storage.close();
});

test('a chain of JSONEachRow and JSONCompactEachRow batches records each format and verifies clean', async () => {
  assert.deepEqual(
    (await store.batches(chainId)).map((batch) => [Number(batch.batch_seq), batch.line_format]),
    [
      [1, 'JSONEachRow'],
      [2, 'JSONCompactEachRow'],
    ],
  );
  const report = await verifyIntegrity(store, { verifierKey: signer.verifierKey });
  assert.deepEqual(report.findings, []);
  assert.equal(report.records, 6);
});

test('a changed row is named in a batch of either format', async () => {
  await storage.client.command({
    query: `ALTER TABLE meshlog.logs UPDATE body = concat(body, '!') WHERE chain_id = '${chainId}' AND batch_pos = 1`,
    clickhouse_settings: { mutations_sync: '2' },
  });
  const report = await verifyIntegrity(store, { verifierKey: signer.verifierKey });
  assert.deepEqual(
    report.findings.map((finding) => [finding.kind, finding.batchSeq, finding.positions]),
    [
      ['record_modified', 1, [1]],
      ['record_modified', 2, [1]],
    ],
  );
});
