import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { FluentClient } from '@fluent-org/logger';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

const sharedKey = 'forward-users-shared-key';

function client(meshlog: RunningMeshlog, username: string, password: string): FluentClient {
  return new FluentClient('users', {
    socket: { host: '127.0.0.1', port: Number(meshlog.listeners.forward!.split(':').pop()), disableReconnect: true },
    security: { clientHostname: 'fluent-bit', sharedKey, username, password },
    ack: { ackTimeout: 5000 },
  });
}

test('forward users: the username/password step makes each user its own credential, with its tenant and its own ingest rate', async () => {
  const dir = tempDataDir('meshlog-forward-users-');
  writeFileSync(join(dir, 'alice.password'), 'alice-secret\n', { mode: 0o600 });
  writeFileSync(join(dir, 'bob.password'), 'bob-secret\n', { mode: 0o600 });
  const configFile = join(dir, 'meshlog.yaml');
  writeFileSync(
    configFile,
    [
      'forward:',
      `  shared_key: ${sharedKey}`,
      '  users:',
      `    - { username: alice, password_file: ${join(dir, 'alice.password')}, tenant: acme }`,
      `    - { username: bob, password_file: ${join(dir, 'bob.password')}, tenant: beta }`,
      '',
    ].join('\n'),
  );
  // One request per credential, then one per 100 s.
  const meshlog = await startMeshlog({
    args: ['--config', configFile],
    env: {
      MESHLOG_LIMITS_BURST_SECONDS: '1',
      MESHLOG_LIMITS_INGEST_REQUESTS_PER_SECOND_PER_KEY: '0.01',
      MESHLOG_LIMITS_INGEST_RECORDS_PER_SECOND_PER_TENANT: '0',
    },
  });
  try {
    const alice = client(meshlog, 'alice', 'alice-secret');
    await alice.connect();
    await alice.emit('event', { log: 'from alice' });
    await assert.rejects(alice.emit('event', { log: 'alice over her rate' }), /ack response timeout/);
    await alice.disconnect();

    const bob = client(meshlog, 'bob', 'bob-secret');
    await bob.connect();
    await bob.emit('event', { log: 'from bob' });
    await bob.disconnect();

    const mallory = client(meshlog, 'bob', 'guessed');
    await mallory.connect();
    void mallory.emit('event', { log: 'must not be stored' }).catch(() => undefined);
    while (!meshlog.output().includes('username/password mismatch')) await new Promise((resolve) => setTimeout(resolve, 20));
    await mallory.disconnect().catch(() => undefined);
  } finally {
    assert.equal(await meshlog.stop(), 0, meshlog.output());
  }
  const rows = await readCommitted<{ tenant: string; body: string }>(
    meshlog.dataDir,
    'SELECT tenant, body FROM meshlog.logs ORDER BY body',
  );
  assert.deepEqual(rows, [
    { tenant: 'acme', body: 'from alice' },
    { tenant: 'beta', body: 'from bob' },
  ]);
});

test('forward.users without forward.shared_key is refused at start', () => {
  const dir = tempDataDir('meshlog-forward-users-');
  const configFile = join(dir, 'meshlog.yaml');
  writeFileSync(
    configFile,
    ['forward:', '  users:', `    - { username: alice, password_file: ${join(dir, 'p')}, tenant: acme }`, ''].join('\n'),
  );
  const run = spawnSync(
    process.execPath,
    [fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url)), 'start', '--config', configFile, '--data-dir', join(dir, 'data')],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.notEqual(run.status, 0);
  assert.match(run.stderr + run.stdout, /forward\.users needs forward\.shared_key/);
});
