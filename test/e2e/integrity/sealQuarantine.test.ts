import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { sealJournalDir, sealQuarantineDir, type QuarantinedSeal } from '../../../src/storage/logs/sealJournal.js';
import { startMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readAuditTrail, readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

function verifyJson(dataDir: string): {
  status: number | null;
  findings: { kind: string; chain: string; batchSeq?: number; detail: string }[];
  stdout: string;
} {
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir, '--output', 'json'], { encoding: 'utf8' });
  assert.notEqual(run.status, 2, run.stderr);
  return { status: run.status, findings: JSON.parse(run.stdout).findings, stdout: run.stdout };
}

test('a server whose seal journal holds a poisoned entry still starts and verify reports it', async () => {
  // Seals stay in the journal (no timed move) so the kill leaves them there, as a crash would.
  const env = { MESHLOG_INTEGRITY_SEAL_FLUSH_MS: '60000', MESHLOG_INTEGRITY_CHECKPOINT_INTERVAL_MS: '600000' };
  const first = await startMeshlog({ env });
  for (let batch = 1; batch <= 2; batch++) {
    const bodies = Array.from({ length: 3 }, (_, i) => `quarantine batch ${batch} record ${i}`);
    assert.equal((await postOtlpJson(first.url, first.token, otlpJsonRequest('shop', bodies), { 'x-scope-orgid': 'acme' })).status, 200);
  }
  await first.kill();

  // The poison the issue found: the seal of acme's batch 2 with min_time "-5" (what the writer journaled
  // for a record stamped -5 ns), and a line that is not JSON at all.
  const journal = sealJournalDir(first.dataDir);
  const [segment] = readdirSync(journal).filter((name) => name.endsWith('.ndjson'));
  const path = join(journal, segment);
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  const poisonedIndex = lines.findIndex((line) => line.includes('"tenant":"acme"') && line.includes('"batch_seq":2'));
  assert.ok(poisonedIndex >= 0, `acme's second seal is journaled: ${lines.join('\n')}`);
  lines[poisonedIndex] = lines[poisonedIndex].replace(/"min_time":"\d+"/, '"min_time":"-5"');
  writeFileSync(path, `${lines.join('\n')}\n`);
  appendFileSync(path, '{"chain_id": "acme/x", "batch_seq": \n');
  appendFileSync(path, 'not json at all\n');

  // Before: this start failed in SealStore.moveJournal, every time. Now it starts.
  const second = await startMeshlog({ dataDir: first.dataDir, env });
  try {
    assert.ok(!readdirSync(journal).includes(segment), 'the poisoned segment was moved, bad lines and all');
    const quarantined = readdirSync(sealQuarantineDir(first.dataDir)).flatMap(
      (name) => JSON.parse(readFileSync(join(sealQuarantineDir(first.dataDir), name), 'utf8')) as QuarantinedSeal[],
    );
    assert.equal(quarantined.length, 3, JSON.stringify(quarantined));
    const poisoned = quarantined.find((entry) => entry.batchSeq === 2);
    assert.ok(poisoned, 'the -5 seal is set aside');
    assert.match(poisoned.reason, /min_time "-5" is not a storable time/);
    assert.match(poisoned.line, /"min_time":"-5"/, 'the line is kept as it was');
    assert.ok(quarantined.every((entry) => entry.segment === segment));

    // Ingest goes on, in a batch after the quarantined one (its rows are still there: its number is not reused).
    assert.equal(
      (await postOtlpJson(second.url, second.token, otlpJsonRequest('shop', ['after the quarantine']), { 'x-scope-orgid': 'acme' })).status,
      200,
    );

    // Verify through the running server's API reports the quarantine too.
    const remote = spawnSync(process.execPath, [cli, 'verify', '--server', second.url, '--token', second.token, '--output', 'json'], {
      encoding: 'utf8',
    });
    assert.equal(remote.status, 1, remote.stderr);
    assert.ok(
      (JSON.parse(remote.stdout) as { findings: { kind: string }[] }).findings.some((finding) => finding.kind === 'seal_quarantined'),
      remote.stdout,
    );
  } finally {
    assert.equal(await second.stop(), 0);
  }

  const report = verifyJson(first.dataDir);
  assert.equal(report.status, 1, report.stdout);
  const quarantineFindings = report.findings.filter((finding) => finding.kind === 'seal_quarantined');
  assert.equal(quarantineFindings.length, 3, report.stdout);
  assert.ok(
    quarantineFindings.some((finding) => finding.batchSeq === 2 && /acme\//.test(finding.chain) && /min_time/.test(finding.detail)),
  );

  // One audit event per quarantined line.
  const audited = await readAuditTrail<{ action: string; target: string }>(
    first.dataDir,
    `SELECT log_attributes['audit.action'] AS action, log_attributes['audit.target'] AS target FROM meshlog.logs WHERE log_attributes['audit.action'] = 'integrity.seal_quarantined'`,
  );
  assert.equal(audited.length, 3, JSON.stringify(audited));

  // The batch after the quarantine took sequence 3: batch 2's rows were not joined by others.
  const seqs = await readCommitted<{ seq: string; n: string }>(
    first.dataDir,
    `SELECT toString(batch_seq) AS seq, toString(count()) AS n FROM meshlog.logs WHERE tenant = 'acme' GROUP BY batch_seq ORDER BY batch_seq`,
  );
  assert.deepEqual(seqs, [
    { seq: '1', n: '3' },
    { seq: '2', n: '3' },
    { seq: '3', n: '1' },
  ]);
  assert.ok(existsSync(sealQuarantineDir(first.dataDir)));
});
