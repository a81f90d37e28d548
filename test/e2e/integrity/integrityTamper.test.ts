import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted, runStatements } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

interface Finding {
  kind: string;
  chain: string;
  batchSeq?: number;
  positions?: number[];
}

let pristine: string;
let publicKey: string;
let acmeChain: string;

/** `meshlog verify --data-dir` on a copy of the pristine store after `statements` tampered with it. */
async function verifyAfter(
  statements: (chain: string) => string[],
): Promise<{ status: number | null; findings: Finding[]; stdout: string }> {
  const copy = tempDataDir('meshlog-tamper-');
  cpSync(pristine, copy, { recursive: true });
  // The store is encrypted at rest: its copy needs the key file beside it too.
  cpSync(`${pristine}-storage.keys`, `${copy}-storage.keys`);
  await runStatements(copy, statements(acmeChain));
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', copy, '--public-key', publicKey, '--output', 'json'], {
    encoding: 'utf8',
  });
  assert.notEqual(run.status, 2, run.stderr);
  return { status: run.status, findings: (JSON.parse(run.stdout) as { findings: Finding[] }).findings, stdout: run.stdout };
}

before(async () => {
  const meshlog = await startMeshlog();
  // Sequential requests: each becomes its own batch in its tenant's chain.
  for (let batch = 1; batch <= 5; batch++) {
    const bodies = Array.from({ length: 10 }, (_, i) => `acme batch ${batch} record ${i}`);
    assert.equal(
      (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('shop', bodies), { 'x-scope-orgid': 'acme' })).status,
      200,
    );
  }
  for (let batch = 1; batch <= 2; batch++) {
    const bodies = Array.from({ length: 4 }, (_, i) => `beta batch ${batch} record ${i}`);
    assert.equal(
      (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('bank', bodies), { 'x-scope-orgid': 'beta' })).status,
      200,
    );
  }
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  pristine = meshlog.dataDir;
  publicKey = `${pristine}-signing.key.pub`;
  const chains = await readCommitted<{ chain_id: string; batches: string }>(
    pristine,
    `SELECT chain_id, toString(max(batch_seq)) AS batches FROM meshlog.seal_batches WHERE tenant != '_audit' GROUP BY chain_id ORDER BY chain_id`,
  );
  assert.deepEqual(
    chains.map((chain) => [chain.chain_id.split('/')[0], Number(chain.batches)]),
    [
      ['acme', 5],
      ['beta', 2],
    ],
  );
  acmeChain = chains[0].chain_id;
});

test('an untouched store verifies clean', async () => {
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', pristine], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  // acme, beta, and meshlog's own audit trail, which is sealed the same way.
  const summary = /^OK — 3 chain\(s\), \d+ batches, \d+ records, (\d+) checkpoints checked/m.exec(run.stdout);
  assert.ok(summary, run.stdout);
  // One checkpoint per chain at least; one more when the run lasted past the next checkpoint (every 10 s) on a slow machine.
  assert.ok(Number(summary[1]) >= 3, run.stdout);
});

test('a modified record is named by batch and position', async () => {
  const { status, findings } = await verifyAfter((chain) => [
    `ALTER TABLE meshlog.logs UPDATE body = 'nothing happened here' WHERE chain_id = '${chain}' AND batch_seq = 2 AND batch_pos = 3`,
  ]);
  assert.equal(status, 1);
  assert.deepEqual(
    findings.map(({ kind, batchSeq, positions }) => ({ kind, batchSeq, positions })),
    [{ kind: 'record_modified', batchSeq: 2, positions: [3] }],
  );
});

test('a deleted record is reported missing', async () => {
  const { findings } = await verifyAfter((chain) => [
    `DELETE FROM meshlog.logs WHERE chain_id = '${chain}' AND batch_seq = 3 AND batch_pos IN (0, 9)`,
  ]);
  assert.deepEqual(
    findings.map(({ kind, batchSeq, positions }) => ({ kind, batchSeq, positions })),
    [{ kind: 'record_missing', batchSeq: 3, positions: [0, 9] }],
  );
});

test('forged records are reported inserted, in a sealed batch and in an unsealed one', async () => {
  const forged = (seq: number, pos: number) =>
    `INSERT INTO meshlog.logs (tenant, timestamp, observed_timestamp, service_name, body, chain_id, batch_seq, batch_pos)
     VALUES ('acme', now64(9), now64(9), 'shop', 'forged', '${acmeChain}', ${seq}, ${pos})`;
  const { findings } = await verifyAfter(() => [forged(4, 10), forged(4, 2), forged(99, 0)]);
  const summary = findings
    .map(({ kind, batchSeq, positions }) => ({ kind, batchSeq, positions }))
    .sort((a, b) => a.batchSeq! - b.batchSeq!);
  assert.deepEqual(summary, [
    { kind: 'record_inserted', batchSeq: 4, positions: [2, 10] },
    { kind: 'record_inserted', batchSeq: 99, positions: undefined },
  ]);
});

test('reordered batches are reported out of order', async () => {
  const { findings } = await verifyAfter((chain) => [
    // Swap batches 2 and 3 everywhere, as someone rewriting history would.
    `CREATE TABLE meshlog.swapped AS meshlog.seal_batches`,
    `INSERT INTO meshlog.swapped SELECT chain_id, tenant, if(batch_seq = 2, 3, 2), record_count, line_format, content_hash, fingerprints, prev_hash, batch_hash, min_time, max_time, committed_at
     FROM meshlog.seal_batches WHERE chain_id = '${chain}' AND batch_seq IN (2, 3)`,
    `DELETE FROM meshlog.seal_batches WHERE chain_id = '${chain}' AND batch_seq IN (2, 3)`,
    `INSERT INTO meshlog.seal_batches SELECT * FROM meshlog.swapped`,
    `DROP TABLE meshlog.swapped`,
    `ALTER TABLE meshlog.logs UPDATE batch_seq = if(batch_seq = 2, 3, 2) WHERE chain_id = '${chain}' AND batch_seq IN (2, 3)`,
  ]);
  const kinds = new Set(findings.map((finding) => `${finding.kind}@${finding.batchSeq}`));
  for (const expected of ['batch_out_of_order@2', 'batch_out_of_order@3', 'checkpoint_mismatch@5']) {
    assert.ok(kinds.has(expected), `${expected} in ${JSON.stringify([...kinds])}`);
  }
});

test('a checkpoint whose signed content was changed is reported forged', async () => {
  const { findings } = await verifyAfter((chain) => [
    `ALTER TABLE meshlog.seal_checkpoints UPDATE note = replaceRegexpOne(note, '\\n5\\n', '\\n6\\n') WHERE chain_id = '${chain}'`,
  ]);
  assert.deepEqual(
    findings.map(({ kind, batchSeq }) => ({ kind, batchSeq })),
    [{ kind: 'checkpoint_forged', batchSeq: 5 }],
  );
});

test('history truncated after a checkpoint is caught by the signed tree head', async () => {
  const { findings } = await verifyAfter((chain) => [
    `DELETE FROM meshlog.seal_batches WHERE chain_id = '${chain}' AND batch_seq = 5`,
    `DELETE FROM meshlog.logs WHERE chain_id = '${chain}' AND batch_seq = 5`,
  ]);
  assert.deepEqual(
    findings.map(({ kind, batchSeq }) => ({ kind, batchSeq })),
    [{ kind: 'checkpoint_mismatch', batchSeq: 5 }],
  );
});
