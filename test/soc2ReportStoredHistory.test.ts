import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Soc2Report } from '../src/compliance/reportModel.js';
import { startMeshlog } from './support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from './support/otlpJson.js';
import { runStatements } from './support/storageReader.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

test('a record altered in storage turns the integrity section to fail, naming the finding', async () => {
  const first = await startMeshlog();
  for (let batch = 1; batch <= 3; batch++) {
    const response = await postOtlpJson(first.url, first.token, otlpJsonRequest('ledger', [`transfer ${batch}`, `balance ${batch}`]), { 'x-scope-orgid': 'acme' });
    assert.equal(response.status, 200, await response.text());
  }
  assert.equal(await first.stop(), 0, first.output());
  await runStatements(first.dataDir, [`ALTER TABLE meshlog.logs UPDATE body = 'nothing happened here' WHERE tenant = 'acme' AND batch_seq = 2 AND batch_pos = 1`]);

  const second = await startMeshlog({ dataDir: first.dataDir });
  try {
    const run = spawnSync(process.execPath, [cli, 'report', 'soc2', '--from', '1h', '--format', 'json', '--server', second.url], { encoding: 'utf8', env: { ...process.env, MESHLOG_TOKEN: second.token } });
    assert.equal(run.status, 0, run.stderr);
    const integrity = (JSON.parse(run.stdout) as Soc2Report).sections.find((section) => section.id === 'integrity')!;
    assert.equal(integrity.status, 'fail');
    assert.match(integrity.reason, /record_modified/);
    const verification = integrity.data.verification as { ok: boolean; findings: { kind: string; batchSeq: number; positions: number[] }[] };
    assert.equal(verification.ok, false);
    assert.deepEqual(verification.findings.map((finding) => [finding.kind, finding.batchSeq, finding.positions]), [['record_modified', 2, [1]]]);
  } finally {
    await second.stop();
  }
});
