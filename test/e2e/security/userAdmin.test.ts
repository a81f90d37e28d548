import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readAuditTrail } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;

function meshlogCli(args: string[], token = meshlog.token) {
  return spawnSync(process.execPath, [cli, ...args, '--server', meshlog.url, '--token', token], { encoding: 'utf8' });
}

const query = (token: string, tenant: string) =>
  fetch(`${meshlog.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="users"}')}&since=1h`, {
    headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': tenant },
  });

function issueKey(args: string[]): { id: string; key: string } {
  const run = meshlogCli(['users', 'key', ...args, '--output', 'json']);
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { id: string; key: string };
}

const keys: Record<string, { id: string; key: string }> = {};

before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('meshlog users create|list|key: keys are issued within the user, never beyond', async () => {
  const created = meshlogCli([
    'users',
    'create',
    'alice',
    '--email',
    'alice@example.com',
    '--role',
    'analyst',
    '--tenant',
    'acme',
    '--tenant',
    'beta',
  ]);
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /created user alice \(analyst on acme, beta\)/);
  assert.match(meshlogCli(['users', 'create', 'alice', '--role', 'analyst', '--tenant', 'acme']).stderr, /409.*already exists/);

  keys.full = issueKey(['alice']);
  keys.narrow = issueKey(['alice', '--tenant', 'acme']);
  assert.equal((await query(keys.full.key, 'beta')).status, 200);
  assert.equal((await query(keys.narrow.key, 'acme')).status, 200);
  assert.equal((await query(keys.narrow.key, 'beta')).status, 403, 'a narrowed key holds only its tenants');

  const widerRole = meshlogCli(['users', 'key', 'alice', '--role', 'admin']);
  assert.notEqual(widerRole.status, 0);
  assert.match(widerRole.stderr, /403.*does not hold the roles admin/);
  const widerTenant = meshlogCli(['users', 'key', 'alice', '--tenant', 'gamma']);
  assert.match(widerTenant.stderr, /403.*does not hold the tenants gamma/);

  const listed = meshlogCli(['users', 'list', '--output', 'json']);
  const [alice] = JSON.parse(listed.stdout) as { name: string; email: string; state: string; key_ids: string[] }[];
  assert.deepEqual(
    { name: alice!.name, email: alice!.email, state: alice!.state, key_ids: alice!.key_ids },
    { name: 'alice', email: 'alice@example.com', state: 'active', key_ids: [keys.full.id, keys.narrow.id] },
  );
  // Only admins manage users.
  assert.match(meshlogCli(['users', 'list'], keys.full.key).stderr, /403/);
});

test('disabling a user revokes every key issued to them at once; enabling restores none of them', async () => {
  const disabled = meshlogCli(['users', 'disable', 'alice']);
  assert.equal(disabled.status, 0, disabled.stderr);
  assert.match(disabled.stdout, new RegExp(`user alice is disabled; revoked keys ${keys.full!.id}, ${keys.narrow!.id}`));
  assert.equal((await query(keys.full!.key, 'acme')).status, 401);
  assert.equal((await query(keys.narrow!.key, 'acme')).status, 401);
  assert.match(meshlogCli(['users', 'key', 'alice']).stderr, /409.*disabled/);

  assert.equal(meshlogCli(['users', 'enable', 'alice']).status, 0);
  assert.equal((await query(keys.full!.key, 'acme')).status, 401, 'revoked keys stay revoked');
  keys.after = issueKey(['alice']);
  assert.equal((await query(keys.after.key, 'acme')).status, 200);
});

test("narrowing a user's grants revokes the keys that would hold more; widening widens no key", async () => {
  keys.acmeOnly = issueKey(['alice', '--tenant', 'acme']);
  const narrowed = meshlogCli(['users', 'update', 'alice', '--tenant', 'acme']);
  assert.equal(narrowed.status, 0, narrowed.stderr);
  assert.match(narrowed.stdout, /updated user alice \(analyst on acme\)/);
  assert.match(narrowed.stdout, new RegExp(`revoked keys that held more than the user now does: ${keys.after!.id}\n`));
  assert.equal((await query(keys.after!.key, 'acme')).status, 401, 'the key that also held beta is revoked');
  assert.equal((await query(keys.acmeOnly.key, 'acme')).status, 200, 'a key within the new grants keeps working');
  assert.match(meshlogCli(['users', 'key', 'alice', '--tenant', 'beta']).stderr, /403.*does not hold the tenants beta/);

  const widened = meshlogCli(['users', 'update', 'alice', '--tenant', 'acme', '--tenant', 'beta', '--email', 'alice@acme.example']);
  assert.equal(widened.status, 0, widened.stderr);
  assert.doesNotMatch(widened.stdout, /revoked/);
  assert.equal((await query(keys.acmeOnly.key, 'beta')).status, 403, 'widening the user widens no key');
  assert.match(meshlogCli(['users', 'update', 'alice']).stderr, /400.*at least one of email, roles, tenants/);
  assert.match(meshlogCli(['users', 'update', 'nobody', '--role', 'analyst']).stderr, /404.*no user \\"nobody\\"/);
  assert.match(meshlogCli(['users', 'update', 'alice', '--role', 'admin'], keys.acmeOnly.key).stderr, /403/);
});

test('users persist across a restart, and each change is exactly one audit record', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir });
  const listed = JSON.parse(meshlogCli(['users', 'list', '--output', 'json']).stdout) as {
    name: string;
    state: string;
    key_ids: string[];
  }[];
  assert.deepEqual(
    listed.map((user) => [user.name, user.state, user.key_ids.length]),
    [['alice', 'active', 4]],
  );
  assert.equal(await meshlog.stop(), 0, meshlog.output());

  const records = await readAuditTrail<{ action: string; target: string; detail: string }>(
    meshlog.dataDir,
    `SELECT log_attributes['audit.action'] AS action, log_attributes['audit.target'] AS target, log_attributes['audit.detail'] AS detail
     FROM meshlog.logs WHERE log_attributes['audit.action'] IN ('users.create', 'users.disable', 'users.enable', 'users.update', 'keys.create') ORDER BY timestamp`,
  );
  assert.deepEqual(
    records.map((record) => [record.action, record.target]),
    [
      ['users.create', 'alice'],
      ['keys.create', keys.full!.id],
      ['keys.create', keys.narrow!.id],
      ['users.disable', 'alice'],
      ['users.enable', 'alice'],
      ['keys.create', keys.after!.id],
      ['keys.create', keys.acmeOnly!.id],
      ['users.update', 'alice'],
      ['users.update', 'alice'],
    ],
  );
  const narrowing = JSON.parse(records[7]!.detail) as {
    before: { tenants: string[] };
    after: { tenants: string[] };
    revoked_keys: string[];
  };
  assert.deepEqual(
    [narrowing.before.tenants, narrowing.after.tenants, narrowing.revoked_keys],
    [['acme', 'beta'], ['acme'], [keys.after!.id]],
  );
  assert.deepEqual(JSON.parse(records[3]!.detail).revoked_keys, [keys.full!.id, keys.narrow!.id]);
  assert.equal(JSON.parse(records[1]!.detail).user, 'alice');
});
