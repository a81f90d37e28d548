import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { migrations } from '../../../src/storage/engine/migrations.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';
import { waitFor } from '../../support/waitFor.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test('without MESHLOG_ADMIN_TOKEN a token is generated into the data dir (0600) and never printed', async () => {
  const meshlog = await startMeshlog({ env: { MESHLOG_ADMIN_TOKEN: '' } });
  const path = join(meshlog.dataDir, 'admin-token');
  const token = readFileSync(path, 'utf8').trim();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal((await fetch(`${meshlog.url}/metrics`)).status, 401, '/metrics needs the token');
  const metrics = await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /meshlog_queue_records 0/);
  assert.equal((await fetch(`${meshlog.url}/ready`)).status, 200, '/ready is public for probes');
  assert.equal(await meshlog.stop(), 0);
  assert.ok(!meshlog.output().includes(token), 'the token never appears in the logs');
});

test('--auth=none allows anonymous access, explicitly, with a warning', async () => {
  const meshlog = await startMeshlog({ args: ['--auth', 'none'] });
  const response = await fetch(`${meshlog.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: otlpJsonRequest('anon', ['anonymous']),
  });
  assert.equal(response.status, 200);
  assert.equal(await meshlog.stop(), 0);
  assert.match(meshlog.output(), /authentication is disabled/);
});

test('SIGTERM commits what was accepted before exiting', async () => {
  // The longest linger there is (10 s): the stop, sent as soon as the request is seen queued, is what commits it.
  const meshlog = await startMeshlog({ env: { MESHLOG_INGEST_BATCH_LINGER_MS: '10000' } });
  const pending = postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('graceful', ['accepted before SIGTERM']));
  // The request is queued (linger holds it) when the signal arrives.
  await waitFor(
    async () =>
      /^meshlog_queue_records 1$/m.test(
        await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text(),
      ),
    { what: 'the request to be queued', intervalMs: 20 },
  );
  const exit = meshlog.stop();
  assert.equal((await pending).status, 200);
  assert.equal(await exit, 0);
  const rows = await readCommitted<{ body: string }>(meshlog.dataDir, 'SELECT body FROM meshlog.logs');
  assert.deepEqual(rows, [{ body: 'accepted before SIGTERM' }]);
});

test('invalid configuration names the key and the bad value, and exits 2', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [cli, 'start', '--data-dir', tempDataDir(), ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
  const badPort = run(['--http-port', '70000']);
  assert.equal(badPort.status, 2);
  assert.match(badPort.stderr, /http_port: .*\(got "70000"\)/);
  const badEnv = run([], { MESHLOG_INGEST_MAX_BODY_BYTES: 'lots' });
  assert.equal(badEnv.status, 2);
  assert.match(badEnv.stderr, /ingest\.max_body_bytes: not a byte size .*\(got "lots"\)/);
});

test('flags win over environment, which wins over the config file', async () => {
  const { loadConfig } = await import('../../../src/config/loadConfig.js');
  const dir = tempDataDir();
  const file = join(dir, 'meshlog.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'http_port: 4000\nhost: 0.0.0.0\nallow_plaintext: true\ningest:\n  max_body_bytes: 1MiB\n  batch_linger_ms: 5\n');
  const config = loadConfig({
    file,
    env: { MESHLOG_HTTP_PORT: '4100', MESHLOG_INGEST_BATCH_LINGER_MS: '7' },
    flags: { http_port: '4200' },
  });
  assert.equal(config.http_port, 4200);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.ingest.max_body_bytes, 1024 * 1024);
  assert.equal(config.ingest.batch_linger_ms, 7);
  assert.throws(() => loadConfig({ file, env: {}, flags: { colour: 'red' } }), /unknown key "colour"/);
});

test('the data written by one server is read by the next (migrations are versioned and idempotent)', async () => {
  const first = await startMeshlog();
  assert.equal((await postOtlpJson(first.url, first.token, otlpJsonRequest('restart', ['one']))).status, 200);
  assert.equal(await first.stop(), 0);
  const second = await startMeshlog({ dataDir: first.dataDir });
  assert.equal((await postOtlpJson(second.url, second.token, otlpJsonRequest('restart', ['two']))).status, 200);
  assert.equal(await second.stop(), 0);
  const rows = await readCommitted<{ body: string; batch_seq: string }>(
    first.dataDir,
    'SELECT body, batch_seq FROM meshlog.logs ORDER BY batch_seq',
  );
  assert.deepEqual(
    rows.map((row) => [row.body, Number(row.batch_seq)]),
    [
      ['one', 1],
      ['two', 2],
    ],
  );
  const applied = await readCommitted<{ version: number }>(first.dataDir, 'SELECT version FROM meshlog.schema_migrations ORDER BY version');
  assert.deepEqual(
    applied.map((row) => row.version),
    migrations.map((migration) => migration.version),
    'each migration applied once',
  );
});
