import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { postOtlpJson } from '../../support/otlpJson.js';
import { readAuditTrail, readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const day = 86_400_000_000_000n;
const now = BigInt(Date.now()) * 1_000_000n;

/** One OTLP request, so every record shares one batch and disposal is partial within it. */
function records(): string {
  const record = (service: string, body: string, severityNumber: number, age: bigint) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeLogs: [{ logRecords: [{ body: { stringValue: body }, severityNumber, timeUnixNano: (now - age).toString() }] }],
  });
  return JSON.stringify({
    resourceLogs: [
      ...[1, 2, 3].map((i) => record('api', `debug ${i}, two days old`, 5, 2n * day)),
      ...[1, 2].map((i) => record('api', `info ${i}, two days old`, 9, 2n * day)),
      ...[1, 2].map((i) => record('api', `info ${i}, forty days old`, 9, 40n * day)),
      ...[1, 2].map((i) => record('payments', `payment ${i}, forty days old, under hold`, 9, 40n * day)),
    ],
  });
}

async function admin(meshlog: RunningMeshlog, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function verify(dataDir: string): string {
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  return run.stdout;
}

test('records past their policy are disposed with evidence, held ones stay, and verify stays clean', async () => {
  const dir = tempDataDir('meshlog-retention-');
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    'retention:\n  default_max_age: 30d\n  policies:\n    - { name: debug-short, tenant: acme, max_severity: 8, max_age: 1d }\n',
  );
  const meshlog = await startMeshlog({ args: ['--config', config] });
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, records(), { 'x-scope-orgid': 'acme' })).status, 200);
  const { hold } = (await admin(meshlog, 'POST', '/api/v1/admin/legal-holds', {
    name: 'case 2026-17',
    tenant: 'acme',
    service: 'payments',
    reason: 'litigation',
  })) as { hold: { id: string } };

  const first = (await admin(meshlog, 'POST', '/api/v1/admin/retention/run')).disposed;
  assert.deepEqual(first, { batches: 1, records: 5, byPolicy: { 'debug-short': 3, default: 2 } });
  const policies = (await admin(meshlog, 'GET', '/api/v1/admin/retention')) as { holds: { id: string; released_at: string | null }[] };
  assert.equal(policies.holds.find((candidate) => candidate.id === hold.id)?.released_at, null);
  assert.equal(await meshlog.stop(), 0);

  const kept = await readCommitted<{ body: string }>(meshlog.dataDir, 'SELECT body FROM meshlog.logs ORDER BY body');
  assert.deepEqual(
    kept.map((row) => row.body),
    ['info 1, two days old', 'info 2, two days old', 'payment 1, forty days old, under hold', 'payment 2, forty days old, under hold'],
  );
  assert.match(verify(meshlog.dataDir), /^OK .*\(5 records disposed\)/m);

  // Released, the held records go on the next run, with their own evidence.
  const again = await startMeshlog({ dataDir: meshlog.dataDir, args: ['--config', config] });
  await admin(again, 'DELETE', `/api/v1/admin/legal-holds/${hold.id}`);
  assert.deepEqual((await admin(again, 'POST', '/api/v1/admin/retention/run')).disposed, {
    batches: 1,
    records: 2,
    byPolicy: { default: 2 },
  });
  assert.equal(await again.stop(), 0);
  assert.match(verify(meshlog.dataDir), /^OK .*\(7 records disposed\)/m);

  const audit = await readAuditTrail<{ action: string }>(
    meshlog.dataDir,
    `SELECT log_attributes['audit.action'] AS action FROM meshlog.logs`,
  );
  const actions = audit.map((row) => row.action);
  for (const action of ['legal_hold.place', 'legal_hold.release'])
    assert.equal(actions.filter((candidate) => candidate === action).length, 1, action);
  assert.equal(actions.filter((action) => action === 'retention.dispose').length, 2);
});

test('deleting a record without a disposal event is still reported missing', async () => {
  // The control for the test above: disposal evidence is what makes an absence legitimate.
  const meshlog = await startMeshlog();
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, records(), { 'x-scope-orgid': 'acme' })).status, 200);
  assert.equal(await meshlog.stop(), 0);
  const { runStatements } = await import('../../support/storageReader.js');
  await runStatements(meshlog.dataDir, [`DELETE FROM meshlog.logs WHERE body = 'debug 1, two days old'`]);
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', meshlog.dataDir], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.match(run.stdout, /RECORD_MISSING .* positions=0/);
});
