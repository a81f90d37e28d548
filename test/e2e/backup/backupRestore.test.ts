import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { BackupManifest } from '../../../src/backup/backupManifest.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
/** Without blocking this process (a test that keeps ingesting meanwhile). */
const runAsync = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

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

async function bodies(meshlog: RunningMeshlog, tenant: string): Promise<string[]> {
  const params = new URLSearchParams({ query: '{service_name=~".+"}', start: String((Date.now() - 3600_000) * 1e6), limit: '1000' });
  const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?${params}`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
  });
  const result = (await response.json()) as { data: { result: { values: [string, string][] }[] } };
  return result.data.result.flatMap((stream) => stream.values.map(([, line]) => line)).sort();
}

test('a backup restored into a fresh data directory verifies clean, and a server runs on it', async () => {
  const meshlog = await startMeshlog();
  assert.equal(
    (
      await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', ['order 1 paid', 'order 2 paid']), {
        'x-scope-orgid': 'acme',
      })
    ).status,
    200,
  );
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('catalog', ['catalog viewed']), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('api', ['another tenant']), { 'x-scope-orgid': 'other' })).status,
    200,
  );
  const { request } = (await admin(meshlog, 'POST', '/api/v1/admin/erasure-requests', {
    tenant: 'acme',
    selector: '{service_name="catalog"}',
    from: new Date(Date.now() - 60_000).toISOString(),
    to: new Date().toISOString(),
    reason: 'DSR-3',
  })) as { request: { id: string } };
  await admin(meshlog, 'POST', `/api/v1/admin/erasure-requests/${request.id}/execute`);
  await admin(meshlog, 'POST', '/api/v1/admin/legal-holds', { name: 'case 9', tenant: 'acme', reason: 'audit' });
  assert.equal(await meshlog.stop(), 0);
  const original = await readCommitted<{ tenant: string; body: string }>(
    meshlog.dataDir,
    'SELECT tenant, body FROM meshlog.logs ORDER BY tenant, body',
  );

  const backupDir = join(tempDataDir('meshlog-backup-'), 'plain');
  const backup = run(['backup', '--data-dir', meshlog.dataDir, '--out', backupDir]);
  assert.equal(backup.status, 0, backup.stderr);
  assert.match(
    backup.stdout,
    /^backup of .*: \d+ tables, \d+ rows, schema \d+, 0 archive key\(s\), without secret keys, encrypted under archive master key [0-9a-f]{16} \(.*-archive\.key\), in /,
  );
  const manifest = JSON.parse(readFileSync(join(backupDir, 'backup.json'), 'utf8')) as BackupManifest;
  assert.equal(manifest.keys.signing_key, null);
  assert.equal(existsSync(join(backupDir, 'keys', 'signing.key')), false);
  // The audit trail is in the logs table too.
  assert.ok(manifest.tables.find((table) => table.table === 'logs')!.rows > original.length);
  assert.ok(manifest.tables.some((table) => table.table === 'seal_checkpoints' && table.rows > 0));
  // Encrypted by default (the data directory is encrypted at rest; its copy is too): not even gzip's magic bytes show.
  const logsPartition = readFileSync(join(backupDir, manifest.tables.find((table) => table.table === 'logs')!.partitions[0].file));
  assert.notDeepEqual([...logsPartition.subarray(0, 2)], [0x1f, 0x8b]);
  assert.equal(manifest.encryption?.algorithm, 'AES-256-GCM');
  assert.ok(manifest.tables.some((table) => table.table === 'erasure_requests' && table.rows > 0));
  assert.equal(manifest.keys.verifier_key, readFileSync(`${meshlog.dataDir}-signing.key.pub`, 'utf8').trim());

  const restoredDir = tempDataDir('meshlog-restored-');
  const restore = run(['restore', '--from', backupDir, '--data-dir', restoredDir]);
  assert.equal(restore.status, 0, restore.stdout + restore.stderr);
  assert.match(
    restore.stdout,
    new RegExp(`^verification: OK — \\d+ chain\\(s\\), .* \\(1 records erased by request ${request.id}\\)$`, 'm'),
  );
  assert.match(restore.stdout, /^note: the backup holds no private signing key/m);
  const verify = run(['verify', '--data-dir', restoredDir]);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^OK /m);
  assert.equal(existsSync(`${restoredDir}-signing.key`), false);

  // A restore never mixes with live data, and a damaged backup is refused before anything is written.
  const again = run(['restore', '--from', backupDir, '--data-dir', restoredDir]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is not empty: restore into a new data directory/);
  const otherKey = join(tempDataDir('meshlog-key-'), 'other.key');
  writeFileSync(otherKey, `${'ab'.repeat(32)}\n`);
  const wrongKey = run(['restore', '--from', backupDir, '--data-dir', tempDataDir('meshlog-restored-'), '--master-key', otherKey]);
  assert.equal(wrongKey.status, 1);
  assert.match(wrongKey.stderr, /the backup is encrypted under archive master key [0-9a-f]{16}, not [0-9a-f]{16}/);
  const damaged = `${backupDir}-damaged`;
  cpSync(backupDir, damaged, { recursive: true });
  const logsFile = join(damaged, manifest.tables.find((table) => table.table === 'logs')!.partitions[0].file);
  const bytes = readFileSync(logsFile);
  bytes[bytes.length - 12] ^= 0xff;
  writeFileSync(logsFile, bytes);
  const refused = run(['restore', '--from', damaged, '--data-dir', tempDataDir('meshlog-restored-')]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /the backup is damaged: tables\/logs\/.* does not have the SHA-256 the manifest names/);

  // With its secrets, a restored meshlog is the same meshlog: it serves the records and extends the same chains.
  const secretBackup = join(tempDataDir('meshlog-backup-'), 'secrets');
  const secretRun = run(['backup', '--data-dir', meshlog.dataDir, '--out', secretBackup, '--include-secrets']);
  assert.equal(secretRun.status, 0, secretRun.stderr);
  const secondDir = tempDataDir('meshlog-restored-');
  const secondRestore = run(['restore', '--from', secretBackup, '--data-dir', secondDir]);
  assert.equal(secondRestore.status, 0, secondRestore.stdout + secondRestore.stderr);
  assert.equal(readFileSync(`${secondDir}-signing.key`, 'utf8'), readFileSync(`${meshlog.dataDir}-signing.key`, 'utf8'));
  const restored = await startMeshlog({ dataDir: secondDir });
  assert.deepEqual(
    await bodies(restored, 'acme'),
    original.filter((row) => row.tenant === 'acme').map((row) => row.body),
  );
  assert.deepEqual(await bodies(restored, 'other'), ['another tenant']);
  assert.equal(
    (
      await postOtlpJson(restored.url, restored.token, otlpJsonRequest('checkout', ['order 3 paid after the restore']), {
        'x-scope-orgid': 'acme',
      })
    ).status,
    200,
  );
  const holds = (await admin(restored, 'GET', '/api/v1/admin/retention')) as { holds: { name: string }[] };
  assert.deepEqual(
    holds.holds.map((hold) => hold.name),
    ['case 9'],
  );
  // The offline restore reached the audit trail when the first server started on it.
  const { events } = (await admin(restored, 'GET', '/api/v1/audit?since=1h&action=backup.restore')) as { events: { detail: string }[] };
  assert.equal(events.length, 1);
  const restoreDetail = JSON.parse(events[0].detail) as { backup_source: string; verification: { ok: boolean; findings: number } };
  assert.equal(restoreDetail.backup_source, meshlog.dataDir);
  assert.deepEqual([restoreDetail.verification.ok, restoreDetail.verification.findings], [true, 0]);
  assert.equal(await restored.stop(), 0);
  const after = run(['verify', '--data-dir', secondDir]);
  assert.equal(after.status, 0, after.stdout + after.stderr);
  assert.match(after.stdout, /^OK — \d+ chain\(s\), .*\(1 records erased by request er-\w+\)/m);
});

test('restoring a backup older than an erasure and a disposal re-applies both from the deletion ledger: the erased data stays erased', async () => {
  const dir = tempDataDir('meshlog-ledger-');
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'retention:\n  policies:\n    - { name: batch-jobs, tenant: acme, service: nightly, max_age: 1d }\n');
  const dataDir = join(dir, 'data');
  const first = await startMeshlog({ dataDir, args: ['--config', config] });
  const twoDaysAgo = (BigInt(Date.now()) - 2n * 86_400_000n) * 1_000_000n;
  assert.equal(
    (
      await postOtlpJson(first.url, first.token, otlpJsonRequest('checkout', ['order 1 paid by alice', 'order 2 paid by alice']), {
        'x-scope-orgid': 'acme',
      })
    ).status,
    200,
  );
  assert.equal(
    (
      await postOtlpJson(
        first.url,
        first.token,
        otlpJsonRequest('nightly', ['nightly job done'], { timeUnixNano: twoDaysAgo.toString() }),
        { 'x-scope-orgid': 'acme' },
      )
    ).status,
    200,
  );
  assert.equal(
    (await postOtlpJson(first.url, first.token, otlpJsonRequest('catalog', ['catalog viewed']), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  const spans = await fetch(`${first.url}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json', 'x-scope-orgid': 'acme' },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'ab'.repeat(16),
                  spanId: 'ab'.repeat(8),
                  name: 'pay for alice',
                  kind: 2,
                  startTimeUnixNano: String(Date.now() * 1e6),
                  endTimeUnixNano: String(Date.now() * 1e6 + 1e6),
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  assert.equal(spans.status, 200);
  // An archive of this month: its data key is in the backup's key ring, wrapped.
  const monthStart = new Date(new Date().toISOString().slice(0, 7) + '-01T00:00:00Z');
  const period = monthStart.toISOString().slice(0, 7);
  const archived = run([
    'archive',
    'export',
    '--tenant',
    'acme',
    '--from',
    new Date(Math.max(Date.now() - 3600_000, monthStart.getTime())).toISOString(),
    '--out',
    join(dir, 'archive'),
    '--server',
    first.url,
    '--token',
    first.token,
  ]);
  assert.equal(archived.status, 0, archived.stderr);
  assert.equal(await first.stop(), 0);
  const backupDir = join(tempDataDir('meshlog-backup-'), 'before-erasure');
  const backup = run(['backup', '--data-dir', dataDir, '--out', backupDir, '--no-encrypt']);
  assert.equal(backup.status, 0, backup.stderr);

  // After the backup: alice's erasure request runs, and the nightly job's record ages out by policy.
  const second = await startMeshlog({ dataDir, args: ['--config', config] });
  // One more of alice's records, sealed after the backup: its batch does not exist in what the backup restores.
  assert.equal(
    (await postOtlpJson(second.url, second.token, otlpJsonRequest('checkout', ['order 3 paid by alice']), { 'x-scope-orgid': 'acme' }))
      .status,
    200,
  );
  const { request } = (await admin(second, 'POST', '/api/v1/admin/erasure-requests', {
    tenant: 'acme',
    selector: '{service_name="checkout"}',
    from: new Date(Date.now() - 3600_000).toISOString(),
    to: new Date().toISOString(),
    reason: 'DSR-4 (alice)',
  })) as { request: { id: string } };
  await admin(second, 'POST', `/api/v1/admin/erasure-requests/${request.id}/execute`);
  assert.deepEqual((await admin(second, 'POST', '/api/v1/admin/retention/run')).disposed, {
    batches: 1,
    records: 1,
    byPolicy: { 'batch-jobs': 1 },
  });
  const shred = run([
    'archive',
    'shred',
    '--tenant',
    'acme',
    '--period',
    period,
    '--reason',
    'contract ended',
    '--server',
    second.url,
    '--token',
    second.token,
  ]);
  assert.equal(shred.status, 0, shred.stderr);
  assert.equal(await second.stop(), 0);

  const restoredDir = tempDataDir('meshlog-restored-');
  const restore = run(['restore', '--from', backupDir, '--data-dir', restoredDir]);
  assert.equal(restore.status, 0, restore.stdout + restore.stderr);
  assert.match(
    restore.stdout,
    new RegExp(
      `^deletion ledger: 1 erasure\\(s\\) \\(${request.id}\\) and 1 disposal\\(s\\) re-applied: 3 records, 1 spans, \\d+ templates taken out again$`,
      'm',
    ),
  );
  assert.match(
    restore.stdout,
    new RegExp(`^verification: OK — .*\\((?=.*1 records disposed)(?=.*2 records erased by request ${request.id}).*\\)$`, 'm'),
  );
  // The key shredded after the backup comes back as its tombstone, not as the wrapped key the backup holds.
  assert.match(restore.stdout, new RegExp(`^archive keys shredded since the backup stay shredded: acme/${period}$`, 'm'));
  const restoredKey = JSON.parse(readFileSync(join(`${restoredDir}-archive-keys`, `acme@${period}.json`), 'utf8')) as {
    wrapped: string | null;
    shredded: { reason: string } | null;
  };
  assert.deepEqual([restoredKey.wrapped, restoredKey.shredded?.reason], [null, 'contract ended']);
  const restoredLogs = await readCommitted<{ service_name: string; body: string }>(
    restoredDir,
    'SELECT service_name, body FROM meshlog.logs ORDER BY body',
  );
  assert.deepEqual(restoredLogs, [{ service_name: 'catalog', body: 'catalog viewed' }]);
  assert.deepEqual(await readCommitted(restoredDir, 'SELECT span_name FROM meshlog.spans'), []);
  // No event is re-applied ahead of a restored chain's head: a server on the restored directory seals new batches under those numbers.
  const heads = await readCommitted<{ chain_id: string; head: string }>(
    restoredDir,
    'SELECT chain_id, toString(max(batch_seq)) AS head FROM meshlog.seal_batches GROUP BY chain_id',
  );
  const events = await readCommitted<{ chain_id: string; batch_seq: string }>(
    restoredDir,
    'SELECT chain_id, toString(batch_seq) AS batch_seq FROM meshlog.seal_events',
  );
  assert.ok(events.length > 0);
  for (const event of events)
    assert.ok(Number(event.batch_seq) <= Number(heads.find((head) => head.chain_id === event.chain_id)!.head), JSON.stringify(event));
  const requests = await readCommitted<{ id: string; status: string }>(
    restoredDir,
    'SELECT id, status FROM meshlog.erasure_requests FINAL',
  );
  assert.deepEqual(requests, [{ id: request.id, status: 'executed' }]);
  // The restored meshlog carries the ledger on, for its own backups.
  assert.equal(readFileSync(`${restoredDir}-deletions.ndjson`, 'utf8'), readFileSync(`${dataDir}-deletions.ndjson`, 'utf8'));
  const verify = run(['verify', '--data-dir', restoredDir]);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, new RegExp(`2 records erased by request ${request.id}`));

  // Only on request does a restore skip the ledger, and then says what that means.
  const unledgered = tempDataDir('meshlog-restored-');
  const without = run(['restore', '--from', backupDir, '--data-dir', unledgered, '--no-ledger']);
  assert.equal(without.status, 0, without.stdout + without.stderr);
  assert.match(
    without.stdout,
    /^deletion ledger: NOT USED \(--no-ledger\): anything erased or disposed of after the backup was taken is back$/m,
  );
  assert.equal((await readCommitted(unledgered, 'SELECT body FROM meshlog.logs')).length, 4);

  // A ledger line altered (an erasure made to cover other records) is refused before anything is restored.
  const forged = join(dir, 'forged.ndjson');
  writeFileSync(forged, readFileSync(`${dataDir}-deletions.ndjson`, 'utf8').replace('"positions":[0,1]', '"positions":[0,2]'));
  const refused = run(['restore', '--from', backupDir, '--data-dir', tempDataDir('meshlog-restored-'), '--ledger', forged]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /forged\.ndjson line 1: the signature does not verify/);
  const missing = run([
    'restore',
    '--from',
    backupDir,
    '--data-dir',
    tempDataDir('meshlog-restored-'),
    '--ledger',
    join(dir, 'nope.ndjson'),
  ]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no deletion ledger at .*nope\.ndjson: pass --ledger FILE/);
});

test('meshlog backup --server takes a consistent backup of a running server while ingest goes on; it restores and verifies clean', async () => {
  const meshlog = await startMeshlog();
  let stop = false;
  let acknowledged = 0;
  const refused: number[] = [];
  const ingestLoop = (async () => {
    for (let request = 0; !stop; request++) {
      const bodies = Array.from({ length: 50 }, (_, i) => `live record ${request}-${i}`);
      const response = await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', bodies), { 'x-scope-orgid': 'acme' });
      if (response.status === 200) acknowledged += bodies.length;
      else refused.push(response.status);
    }
  })();
  const waitFor = async (records: number) => {
    while (acknowledged < records) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  await waitFor(500);
  const beforeBackup = acknowledged;
  const backup = await runAsync(['backup', '--server', meshlog.url, '--token', meshlog.token, '--name', 'live-1']);
  // Ingest keeps going after the backup too: the backup's cut is behind the live head.
  await waitFor(acknowledged + 500);
  stop = true;
  await ingestLoop;
  assert.deepEqual(refused, []);
  assert.equal(backup.status, 0, backup.stderr);
  const backupDir = `${meshlog.dataDir}-backups/live-1`;
  assert.match(
    backup.stdout,
    new RegExp(
      `^backup of the running server at .*: \\d+ tables, \\d+ rows, cut at .* \\(\\d+ chain\\(s\\), commits held [\\d.]+ ms\\), encrypted under archive master key [0-9a-f]{16}, in ${backupDir} on the server host$`,
      'm',
    ),
  );
  const { events } = (await admin(meshlog, 'GET', '/api/v1/audit?since=1h&action=backup.create')) as {
    events: { actor: string; outcome: string; target: string }[];
  };
  assert.deepEqual(
    events.map((event) => [event.outcome, event.target]),
    [['success', backupDir]],
  );
  assert.equal(await meshlog.stop(), 0);

  const manifest = JSON.parse(readFileSync(join(backupDir, 'backup.json'), 'utf8')) as BackupManifest;
  const acmeChain = Object.keys(manifest.cut!.chains).find((chain) => chain.startsWith('acme/'))!;
  const cutSeq = manifest.cut!.chains[acmeChain];
  const live = await readCommitted<{ body: string; after: number }>(
    meshlog.dataDir,
    `SELECT body, batch_seq > ${cutSeq} AS after FROM meshlog.logs WHERE tenant = 'acme'`,
  );
  const upToCut = live
    .filter((row) => !Number(row.after))
    .map((row) => row.body)
    .sort();
  assert.ok(
    upToCut.length >= beforeBackup,
    `${upToCut.length} records up to the cut, ${beforeBackup} acknowledged before the backup began`,
  );
  assert.ok(upToCut.length < live.length, 'records were committed after the cut');

  const restoredDir = tempDataDir('meshlog-restored-');
  const restore = run(['restore', '--from', backupDir, '--data-dir', restoredDir]);
  assert.equal(restore.status, 0, restore.stdout + restore.stderr);
  assert.match(restore.stdout, /^verification: OK — /m);
  const restored = await readCommitted<{ body: string }>(restoredDir, `SELECT body FROM meshlog.logs WHERE tenant = 'acme' ORDER BY body`);
  assert.deepEqual(
    restored.map((row) => row.body),
    upToCut,
  );
  const verify = run(['verify', '--data-dir', restoredDir]);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
});
