import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ReportSection, Soc2Report } from '../../../src/compliance/reportModel.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { runStatements } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;
let soc2: Soc2Report;

const section = (id: string): ReportSection => soc2.sections.find((candidate) => candidate.id === id)!;

/** History a test cannot wait for, written into the stopped server's storage: an altered record and a key created 120 days ago. */
before(async () => {
  const first = await startMeshlog();
  for (let batch = 1; batch <= 3; batch++) {
    const response = await postOtlpJson(first.url, first.token, otlpJsonRequest('ledger', [`transfer ${batch}`, `balance ${batch}`]), {
      'x-scope-orgid': 'acme',
    });
    assert.equal(response.status, 200, await response.text());
  }
  // Forty days old, past the 30d default: one left over (no disposal ran), one kept by a legal hold.
  const fortyDaysAgo = `${(BigInt(Date.now()) - 40n * 86_400_000n) * 1_000_000n}`;
  for (const tenant of ['acme', 'beta']) {
    const old = await postOtlpJson(
      first.url,
      first.token,
      otlpJsonRequest('ledger', [`opening balance of ${tenant}`], { timeUnixNano: fortyDaysAgo }),
      { 'x-scope-orgid': tenant },
    );
    assert.equal(old.status, 200, await old.text());
  }
  const hold = await fetch(`${first.url}/api/v1/admin/legal-holds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'beta audit', tenant: 'beta', reason: 'regulator request' }),
  });
  assert.equal(hold.status, 201, await hold.text());
  assert.equal(await first.stop(), 0, first.output());
  await runStatements(first.dataDir, [
    `ALTER TABLE meshlog.logs UPDATE body = 'nothing happened here' WHERE tenant = 'acme' AND batch_seq = 2 AND batch_pos = 1`,
    `INSERT INTO meshlog.api_keys (id, name, roles, tenants, secret_hash, created_by, created_at, expires_at, revoked_at, revoked_by, version)
     VALUES ('0123456789ab', 'forgotten ci key', ['analyst'], ['acme'], 'scrypt$16384$8$1$AAAA$AAAA', 'bootstrap admin', now64(3) - INTERVAL 120 DAY, NULL, NULL, '', 1)`,
  ]);
  meshlog = await startMeshlog({ dataDir: first.dataDir });
  const run = spawnSync(process.execPath, [cli, 'report', 'soc2', '--from', '1h', '--format', 'json', '--server', meshlog.url], {
    encoding: 'utf8',
    env: { ...process.env, MESHLOG_TOKEN: meshlog.token },
  });
  assert.equal(run.status, 0, run.stderr);
  soc2 = JSON.parse(run.stdout) as Soc2Report;
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('a record altered in storage turns the integrity section to fail, naming the finding', () => {
  const integrity = section('integrity');
  assert.equal(integrity.status, 'fail');
  assert.match(integrity.reason, /record_modified/);
  const verification = integrity.data.verification as { ok: boolean; findings: { kind: string; batchSeq: number; positions: number[] }[] };
  assert.equal(verification.ok, false);
  assert.deepEqual(
    verification.findings.map((finding) => [finding.kind, finding.batchSeq, finding.positions]),
    [['record_modified', 2, [1]]],
  );
});

test('a key created 120 days ago and never used is reported as unused for 90 days', () => {
  const access = section('access');
  assert.equal(access.status, 'attention');
  assert.match(access.reason, /1 active keys unused for 90 days \(forgotten ci key\)/);
  assert.deepEqual(
    (access.data.unused_keys as { keys: { id: string }[] }).keys.map((key) => key.id),
    ['0123456789ab'],
  );
  assert.equal((access.data.grants as unknown[]).length, 0, 'granted before the period');
});

test('a record kept past its policy without a legal hold fails the retention section; one under a hold is reported as held', () => {
  const retention = section('retention');
  assert.equal(retention.status, 'fail');
  assert.match(retention.reason, /^1 records are kept past their policy \(default in acme: 1\) with no legal hold$/);
  assert.deepEqual(
    (retention.data.kept_past_policy as { tenant: string; policy: string; records: number }[]).map((row) => [
      row.tenant,
      row.policy,
      row.records,
    ]),
    [['acme', 'default', 1]],
  );
  assert.equal(retention.data.held_past_policy_records, 1);
  assert.deepEqual(
    (retention.data.legal_holds as { name: string; tenant: string }[]).map((hold) => [hold.name, hold.tenant]),
    [['beta audit', 'beta']],
  );
});
