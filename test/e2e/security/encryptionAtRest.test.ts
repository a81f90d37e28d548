import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readAuditTrail, readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

/** Letters only, so no redaction rule mistakes it for a secret and masks it before it reaches the disk. */
function marker(): string {
  return `canary${Array.from({ length: 20 }, () => String.fromCharCode(97 + randomInt(26))).join('')}`;
}

/** Every file under the directory whose bytes contain the needle. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  const bytes = Buffer.from(needle);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (readFileSync(path).includes(bytes)) found.push(path);
  }
  return found;
}

async function ingest(server: RunningMeshlog, body: string): Promise<void> {
  const response = await postOtlpJson(server.url, server.token, otlpJsonRequest('at-rest', [body]));
  assert.equal(response.status, 200, await response.text());
}

/** The bodies the Loki API returns for the service: what the running server can read back. */
async function readBack(server: RunningMeshlog): Promise<string[]> {
  const query = encodeURIComponent('{service_name="at-rest"}');
  const response = await fetch(`${server.url}/loki/api/v1/query_range?query=${query}&since=1h&limit=100`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200);
  const payload = (await response.json()) as { data: { result: { values: [string, string][] }[] } };
  return payload.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
}

/** The 16-byte key fingerprints in the headers of ClickHouse's encrypted files ("ENC", version, algorithm, fingerprint). */
function keyFingerprintsOnDisk(dataDir: string): Set<string> {
  const fingerprints = new Set<string>();
  const root = join(dataDir, 'clickhouse', 'encrypted');
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.bin') || entry.parentPath.includes('detached')) continue;
    const header = readFileSync(join(entry.parentPath, entry.name)).subarray(0, 23);
    if (header.subarray(0, 3).toString() === 'ENC') fingerprints.add(header.subarray(7, 23).toString('hex'));
  }
  return fingerprints;
}

test('an ingested marker is nowhere in the data directory in plaintext; the key file sits outside it, owner-only', async () => {
  const canary = marker();
  const server = await startMeshlog();
  await ingest(server, `user signed in with ${canary}`);
  assert.deepEqual(await readBack(server), [`user signed in with ${canary}`]);
  assert.equal(await server.stop(), 0, server.output());

  assert.deepEqual(filesContaining(server.dataDir, canary), []);
  const keyFile = `${server.dataDir}-storage.keys`;
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const keyHex = /^0:([0-9a-f]{64})$/m.exec(readFileSync(keyFile, 'utf8'))![1]!;
  assert.deepEqual(filesContaining(server.dataDir, keyHex), [], 'the key is not kept in the data directory');
  // The data is still there, for whoever holds the key.
  const rows = await readCommitted<{ body: string }>(server.dataDir, `SELECT body FROM meshlog.logs WHERE service_name = 'at-rest'`);
  assert.deepEqual(
    rows.map((row) => row.body),
    [`user signed in with ${canary}`],
  );
});

test('control: with encryption turned off the same check finds the marker on disk', async () => {
  const canary = marker();
  const server = await startMeshlog({ env: { MESHLOG_ENCRYPTION_ENABLED: 'false' } });
  await ingest(server, `user signed in with ${canary}`);
  assert.equal(await server.stop(), 0, server.output());
  assert.notDeepEqual(filesContaining(server.dataDir, canary), []);
});

test('rotate-storage: new parts use the new key, old parts stay readable, the rotation is audited', async () => {
  const before = marker();
  const after = marker();
  const first = await startMeshlog();
  await ingest(first, before);
  assert.equal(await first.stop(), 0, first.output());
  const oldFingerprints = keyFingerprintsOnDisk(first.dataDir);
  assert.equal(oldFingerprints.size, 1);

  const rotate = spawnSync(process.execPath, [cli, 'keys', 'rotate-storage', '--data-dir', first.dataDir], { encoding: 'utf8' });
  assert.equal(rotate.status, 0, rotate.stderr);
  assert.match(rotate.stdout, /storage key 1 added/);

  const second = await startMeshlog({ dataDir: first.dataDir });
  await ingest(second, after);
  assert.deepEqual((await readBack(second)).sort(), [before, after].sort());
  assert.equal(await second.stop(), 0, second.output());

  const newFingerprints = [...keyFingerprintsOnDisk(first.dataDir)].filter((fingerprint) => !oldFingerprints.has(fingerprint));
  assert.equal(newFingerprints.length, 1, 'parts written after the rotation carry the new key');
  assert.deepEqual(filesContaining(first.dataDir, after), []);
  const rotations = await readAuditTrail<{ detail: string }>(
    first.dataDir,
    `SELECT log_attributes['audit.detail'] AS detail FROM meshlog.logs WHERE log_attributes['audit.action'] = 'storage.key_added' ORDER BY timestamp`,
  );
  assert.deepEqual(
    rotations.map((row) => JSON.parse(row.detail)),
    [
      { key_ids: [0], current_key_id: 0 },
      { key_ids: [1], current_key_id: 1 },
    ],
  );
});

test('a data directory is never opened without the keys that wrote it, nor as plaintext', async () => {
  const dataDir = tempDataDir();
  const first = await startMeshlog({ dataDir });
  await ingest(first, 'kept');
  assert.equal(await first.stop(), 0, first.output());
  const keyFile = `${dataDir}-storage.keys`;

  const refusals: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['encryption off', { MESHLOG_ENCRYPTION_ENABLED: 'false' }, /is encrypted at rest/],
    ['a different key', { MESHLOG_STORAGE_KEYS: `0:${'ab'.repeat(32)}` }, /storage key id 0 .* is not the key that wrote this directory/],
    ['a key file inside the data directory', { MESHLOG_ENCRYPTION_KEY_FILE: join(dataDir, 'keys') }, /inside the data directory/],
  ];
  for (const [what, env, expected] of refusals) {
    const run = spawnSync(process.execPath, [cli, 'start', '--data-dir', dataDir, '--http-port', '0'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    assert.notEqual(run.status, 0, what);
    assert.match(run.stdout + run.stderr, expected, what);
  }
  renameSync(keyFile, `${keyFile}.away`);
  const missing = spawnSync(process.execPath, [cli, 'start', '--data-dir', dataDir, '--http-port', '0'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stdout + missing.stderr, /storage key file .* is missing/);
  renameSync(`${keyFile}.away`, keyFile);

  // Nothing was detached or lost by the refused starts.
  const rows = await readCommitted<{ body: string }>(dataDir, `SELECT body FROM meshlog.logs WHERE service_name = 'at-rest'`);
  assert.deepEqual(
    rows.map((row) => row.body),
    ['kept'],
  );
});

test('meshlog storage encrypt: a plaintext data directory moves onto the encrypted disk; no marker plaintext remains, verify is clean, the migration is audited', async () => {
  const before = marker();
  const after = marker();
  const plain = await startMeshlog({ env: { MESHLOG_ENCRYPTION_ENABLED: 'false' } });
  await ingest(plain, before);
  assert.equal(await plain.stop(), 0, plain.output());
  const dataDir = plain.dataDir;
  assert.notDeepEqual(filesContaining(dataDir, before), [], 'control: the marker is on disk in the clear');

  const refused = spawnSync(process.execPath, [cli, 'start', '--data-dir', dataDir, '--http-port', '0'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stdout + refused.stderr, /meshlog storage encrypt --data-dir/);

  const encrypt = spawnSync(process.execPath, [cli, 'storage', 'encrypt', '--data-dir', dataDir], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(encrypt.status, 0, encrypt.stderr);
  assert.match(encrypt.stdout, /encrypted .*: \d+ tables, [1-9]\d* partitions moved onto the encrypted disk with key 0/);
  assert.deepEqual(filesContaining(dataDir, before), []);
  const again = spawnSync(process.execPath, [cli, 'storage', 'encrypt', '--data-dir', dataDir], { encoding: 'utf8' });
  assert.match(again.stderr, /already encrypted at rest/);

  const server = await startMeshlog({ dataDir });
  await ingest(server, after);
  assert.deepEqual((await readBack(server)).sort(), [before, after].sort());
  assert.equal(await server.stop(), 0, server.output());
  assert.deepEqual(filesContaining(dataDir, before), []);
  assert.deepEqual(filesContaining(dataDir, after), []);

  const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  const migrations = await readAuditTrail<{ detail: string }>(
    dataDir,
    `SELECT log_attributes['audit.detail'] AS detail FROM meshlog.logs WHERE log_attributes['audit.action'] = 'storage.encrypt'`,
  );
  assert.equal(migrations.length, 1);
  assert.equal(JSON.parse(migrations[0]!.detail).keyId, 0);
});

test('rotate-storage without a restart: over the admin API and by SIGHUP after an offline rotation, new parts take the new key at once, old parts stay readable, each rotation is audited', async () => {
  const [first, second, third] = [marker(), marker(), marker()];
  const server = await startMeshlog();
  try {
    await ingest(server, first);
    const before = keyFingerprintsOnDisk(server.dataDir);
    assert.equal(before.size, 1);

    const live = spawnSync(process.execPath, [cli, 'keys', 'rotate-storage', '--server', server.url, '--token', server.token], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(live.status, 0, live.stderr);
    assert.match(live.stdout, /storage key 1 added; the server writes new parts with it now/);
    await ingest(server, second);
    const afterLive = [...keyFingerprintsOnDisk(server.dataDir)].filter((fingerprint) => !before.has(fingerprint));
    assert.equal(afterLive.length, 1, 'the part written after the rotation carries the new key');

    const offline = spawnSync(process.execPath, [cli, 'keys', 'rotate-storage', '--data-dir', server.dataDir], { encoding: 'utf8' });
    assert.equal(offline.status, 0, offline.stderr);
    server.process.kill('SIGHUP');
    for (const deadline = Date.now() + 60_000; !/"currentKeyId":2/.test(server.output()) && Date.now() < deadline;)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(server.output(), /"currentKeyId":2/);
    await ingest(server, third);
    assert.deepEqual((await readBack(server)).sort(), [first, second, third].sort());
    const known = new Set([...before, ...afterLive]);
    assert.equal(
      [...keyFingerprintsOnDisk(server.dataDir)].filter((fingerprint) => !known.has(fingerprint)).length,
      1,
      'and after SIGHUP, the third key',
    );
  } finally {
    assert.equal(await server.stop(), 0, server.output());
  }
  assert.deepEqual(filesContaining(server.dataDir, second), []);
  const rotations = await readAuditTrail<{ detail: string; outcome: string }>(
    server.dataDir,
    `SELECT log_attributes['audit.detail'] AS detail, log_attributes['audit.outcome'] AS outcome FROM meshlog.logs WHERE log_attributes['audit.action'] = 'storage.key_added' ORDER BY timestamp`,
  );
  assert.deepEqual(
    rotations.map((row) => [row.outcome, JSON.parse(row.detail)]),
    [
      ['success', { key_ids: [0], current_key_id: 0 }],
      ['success', { key_ids: [1], current_key_id: 1, live: true }],
      ['success', { key_ids: [2], current_key_id: 2, live: true }],
    ],
  );
});
