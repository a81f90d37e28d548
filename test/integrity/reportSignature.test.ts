import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { signReport, signReportFile, verifyReportFile, verifyReportJson } from '../../src/integrity/reportSignature.js';
import { loadOrCreateSigner } from '../../src/integrity/signedNote.js';
import { tempDataDir } from '../support/meshlogProcess.js';

// Three nodes' signing keys: A and B are the cluster's published set, the stranger is no node of it.
const dir = tempDataDir('meshlog-report-keys-');
const [a, b, stranger] = ['meshlog-a', 'meshlog-b', 'meshlog-stranger'].map(
  (name) => loadOrCreateSigner(join(dir, `${name}.key`), name).signer,
);
const cluster = [a.verifierKey, b.verifierKey];
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('a report signed by node A verifies with the cluster’s key set, and with A’s key alone', () => {
  const report = signReport({ report: 'soc2', period: '2026-11', figures: [1, 2, 3] }, a);
  assert.deepEqual(verifyReportJson(report, cluster), { ok: true, key: a.verifierKey });
  assert.deepEqual(verifyReportJson(report, [a.verifierKey]), { ok: true, key: a.verifierKey });
  const file = Buffer.from('<html>report</html>');
  assert.equal(verifyReportFile(file, signReportFile(file, b), cluster).ok, true);
});

test('attack: a report signed by a key not in the set is refused, one key or several', () => {
  const byStranger = signReport({ report: 'soc2', period: '2026-11' }, stranger);
  assert.deepEqual(verifyReportJson(byStranger, cluster), {
    ok: false,
    reason: `signed by key ${stranger.verifierKey}, which is none of the 2 trusted keys`,
  });
  assert.deepEqual(verifyReportJson(signReport({ report: 'soc2' }, a), [b.verifierKey]), {
    ok: false,
    reason: `signed by key ${a.verifierKey}, not by the trusted key ${b.verifierKey}`,
  });
  const file = Buffer.from('%PDF-1.7 report');
  assert.match(String((verifyReportFile(file, signReportFile(file, stranger), cluster) as { reason: string }).reason), /none of the 2/);
});

test('attack: a report changed after node A signed it is refused even though A’s key is in the set', () => {
  const report = signReport({ report: 'soc2', findings: 0 }, a);
  const check = verifyReportJson({ ...report, findings: 3 }, cluster);
  assert.equal(check.ok, false);
  assert.match((check as { reason: string }).reason, /modified after it was signed/);
});

test('meshlog report verify --public-key takes a file of the cluster’s keys one a line, and refuses a report no key of it signed', () => {
  const keys = join(dir, 'cluster.pub');
  writeFileSync(keys, `${cluster.join('\n')}\n`);
  const signedByB = join(dir, 'by-b.json');
  writeFileSync(signedByB, JSON.stringify(signReport({ report: 'soc2', node: 'b' }, b)));
  const accepted = spawnSync(process.execPath, [cli, 'report', 'verify', signedByB, '--public-key', keys], { encoding: 'utf8' });
  assert.equal(accepted.status, 0, accepted.stdout + accepted.stderr);
  assert.match(accepted.stdout, /^OK .*signature verifies with the trusted key meshlog-b\+/m);

  const signedByStranger = join(dir, 'by-stranger.json');
  writeFileSync(signedByStranger, JSON.stringify(signReport({ report: 'soc2', node: 'x' }, stranger)));
  const refused = spawnSync(process.execPath, [cli, 'report', 'verify', signedByStranger, '--public-key', keys], { encoding: 'utf8' });
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.match(refused.stdout, /^FAILED .*which is none of the 2 trusted keys/m);
});
