import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { sealJournalDir, SealJournal, type JournaledSeal } from '../../../src/storage/logs/sealJournal.js';
import { startMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted, runStatements } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

function verifyJson(dataDir: string): {
  status: number | null;
  findings: { kind: string; batchSeq?: number; positions?: number[] }[];
  stdout: string;
} {
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir, '--output', 'json'], { encoding: 'utf8' });
  assert.notEqual(run.status, 2, run.stderr);
  return { status: run.status, findings: JSON.parse(run.stdout).findings, stdout: run.stdout };
}

test('seals only journaled when the server is SIGKILLed are moved into the table, with fingerprints that still name a changed record', async () => {
  // Nothing is moved on a timer during the test: at the kill the journal holds every seal.
  const startedMs = Date.now();
  const meshlog = await startMeshlog({
    env: { MESHLOG_INTEGRITY_SEAL_FLUSH_MS: '60000', MESHLOG_INTEGRITY_CHECKPOINT_INTERVAL_MS: '600000' },
  });
  for (let batch = 1; batch <= 3; batch++) {
    const bodies = Array.from({ length: 6 }, (_, i) => `journal batch ${batch} record ${i}`);
    assert.equal(
      (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('shop', bodies), { 'x-scope-orgid': 'acme' })).status,
      200,
    );
  }
  await meshlog.kill();
  const killedMs = Date.now();

  const journal = sealJournalDir(meshlog.dataDir);
  assert.ok(readdirSync(journal).length > 0, 'the killed server left journal segments');
  const sealed = await readCommitted<{ n: string }>(
    meshlog.dataDir,
    `SELECT toString(count()) AS n FROM meshlog.seal_batches WHERE tenant = 'acme'`,
  );
  assert.equal(sealed[0].n, '0', 'no acme seal reached the table before the kill');
  const stored = await readCommitted<{ n: string }>(
    meshlog.dataDir,
    `SELECT toString(count()) AS n FROM meshlog.logs WHERE tenant = 'acme'`,
  );
  assert.equal(stored[0].n, '18');

  // Offline verify moves the journal first: clean, and the journal is empty afterwards.
  const clean = verifyJson(meshlog.dataDir);
  assert.equal(clean.status, 0, clean.stdout);
  assert.deepEqual(readdirSync(journal), []);
  const chains = await readCommitted<{ chain_id: string; fingerprints: string; committed_ms: string }>(
    meshlog.dataDir,
    `SELECT chain_id, toString(length(fingerprints)) AS fingerprints, toString(toUnixTimestamp64Milli(committed_at)) AS committed_ms
     FROM meshlog.seal_batches WHERE tenant = 'acme' AND batch_seq = 2`,
  );
  assert.deepEqual(
    chains.map((chain) => chain.fingerprints),
    ['6'],
    'fingerprints were recomputed from the stored rows',
  );
  const committedMs = Number(chains[0].committed_ms);
  assert.ok(committedMs >= startedMs - 1 && committedMs <= killedMs, `committed_at is the commit's time, not the move's: ${committedMs}`);

  // The recovered fingerprints are the sealed ones: a changed record is located.
  await runStatements(meshlog.dataDir, [
    `ALTER TABLE meshlog.logs UPDATE body = 'rewritten' WHERE chain_id = '${chains[0].chain_id}' AND batch_seq = 2 AND batch_pos = 4`,
  ]);
  const tampered = verifyJson(meshlog.dataDir);
  assert.equal(tampered.status, 1);
  assert.deepEqual(
    tampered.findings.map(({ kind, batchSeq, positions }) => ({ kind, batchSeq, positions })),
    [{ kind: 'record_modified', batchSeq: 2, positions: [4] }],
  );

  // And the server starts on it and keeps sealing after the recovered batches.
  const again = await startMeshlog({ dataDir: meshlog.dataDir });
  assert.equal(
    (await postOtlpJson(again.url, again.token, otlpJsonRequest('shop', ['after restart']), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  assert.equal(await again.stop(), 0, again.output());
  const heads = await readCommitted<{ head: string }>(
    meshlog.dataDir,
    `SELECT toString(max(batch_seq)) AS head FROM meshlog.seal_batches WHERE tenant = 'acme'`,
  );
  assert.equal(heads[0].head, '4');
});

test('a journal line cut short by a crash is left out, the lines before it are read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-seal-journal-'));
  try {
    const journal = new SealJournal(dir);
    const seal = (seq: number): JournaledSeal => ({
      chain_id: 'acme/w1',
      tenant: 'acme',
      batch_seq: seq,
      record_count: 3,
      content_hash: 'c'.repeat(64),
      prev_hash: '0'.repeat(64),
      batch_hash: 'b'.repeat(64),
      min_time: '1732540000000000000',
      max_time: '1732540000000000001',
      committed_at: '1732540000.123',
    });
    journal.append([seal(1), seal(2)]);
    const [segment] = journal.rotate();
    appendFileSync(segment, '{"chain_id":"acme/w1","tenant":"ac');
    assert.deepEqual(
      journal.read(segment).map((entry) => entry.batch_seq),
      [1, 2],
    );
    assert.ok(journal.ownSegment(segment));
    assert.equal(new SealJournal(dir).ownSegment(segment), false, 'another process sees it as a crashed one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
