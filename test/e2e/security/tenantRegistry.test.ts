import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readAuditTrail } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;

function meshlogCli(args: string[], token = meshlog.token) {
  return spawnSync(process.execPath, [cli, ...args, '--server', meshlog.url, '--token', token], { encoding: 'utf8' });
}

const ingest = (tenant: string) =>
  postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('registry', [`for ${tenant}`]), { 'x-scope-orgid': tenant });
const query = (tenant: string) =>
  fetch(`${meshlog.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="registry"}')}&since=1h`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
  });

/** An OTLP/gRPC export of one record into the tenant. */
function grpcExport(tenant: string): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(meshlog.listeners.otlp_grpc!, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${meshlog.token}`);
  metadata.set('x-scope-orgid', tenant);
  // One record, ResourceLogs{ScopeLogs{LogRecord{body: "registry"}}}: an empty request would submit nothing.
  const request = Buffer.from('0a10120e120c2a0a0a087265676973747279', 'hex');
  return new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      request,
      metadata,
      (error) => resolve(error),
    ),
  ).finally(() => client.close());
}

before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('meshlog tenants create|list: registered once, listed with who and when; only admins manage tenants', async () => {
  const created = meshlogCli(['tenants', 'create', 'acme', '--description', 'Acme Corp']);
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /registered tenant acme/);
  const again = meshlogCli(['tenants', 'create', 'acme']);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /409.*already registered/);
  const listed = meshlogCli(['tenants', 'list', '--output', 'json']);
  assert.equal(listed.status, 0, listed.stderr);
  const [acme] = JSON.parse(listed.stdout) as { name: string; state: string; description: string; created_by: string }[];
  assert.deepEqual(
    { name: acme!.name, state: acme!.state, description: acme!.description, created_by: acme!.created_by },
    { name: 'acme', state: 'active', description: 'Acme Corp', created_by: 'bootstrap admin' },
  );

  const key = meshlogCli(['keys', 'create', '--name', 'analyst', '--role', 'analyst', '--tenant', 'acme', '--output', 'json']);
  const analyst = (JSON.parse(key.stdout) as { key: string }).key;
  const refused = meshlogCli(['tenants', 'disable', 'acme'], analyst);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /403/);
  assert.match(meshlogCli(['tenants', 'disable', 'nobody']).stderr, /404.*not registered/);
});

test('a disabled tenant is refused for ingest (HTTP, gRPC) and queries; other tenants are not; enabling restores it', async () => {
  assert.equal((await ingest('acme')).status, 200);
  assert.equal(meshlogCli(['tenants', 'disable', 'acme']).status, 0);
  const refused = await ingest('acme');
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /tenant \\?"acme\\?" is disabled/);
  assert.equal((await query('acme')).status, 403);
  assert.equal((await grpcExport('acme'))?.code, grpc.status.PERMISSION_DENIED);
  assert.equal((await ingest('beta')).status, 200);
  assert.equal((await query('beta')).status, 200);

  // The state survives a restart.
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir });
  assert.equal((await ingest('acme')).status, 403);
  assert.equal(meshlogCli(['tenants', 'enable', 'acme']).status, 0);
  assert.equal((await ingest('acme')).status, 200);
  assert.equal((await query('acme')).status, 200);
});

test('"." and ".." are no tenant (dskit refuses them too: a tenant is a path segment of its archives): not sent to, queried, registered or granted', async () => {
  for (const name of ['.', '..']) {
    const sent = await ingest(name);
    assert.equal(sent.status, 400, name);
    assert.match(((await sent.json()) as { message: string }).message, /not "\." or "\.\."/);
    assert.equal((await query(name)).status, 400, name);
    const registered = meshlogCli(['tenants', 'create', name]);
    assert.notEqual(registered.status, 0, name);
    const granted = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'dots', roles: ['ingester'], tenants: [name] }),
    });
    assert.equal(granted.status, 400, name);
  }
  // Dots inside a name stay allowed, as before.
  assert.equal((await ingest('team.a')).status, 200);
});

test('each registry change is exactly one audit record with who and what', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const records = await readAuditTrail<{ action: string; actor: string; target: string; outcome: string }>(
    meshlog.dataDir,
    `SELECT log_attributes['audit.action'] AS action, log_attributes['audit.actor.name'] AS actor, log_attributes['audit.target'] AS target,
            log_attributes['audit.outcome'] AS outcome
     FROM meshlog.logs WHERE startsWith(log_attributes['audit.action'], 'tenants.') ORDER BY timestamp`,
  );
  assert.deepEqual(records, [
    { action: 'tenants.create', actor: 'bootstrap admin', target: 'acme', outcome: 'success' },
    { action: 'tenants.disable', actor: 'bootstrap admin', target: 'acme', outcome: 'success' },
    { action: 'tenants.enable', actor: 'bootstrap admin', target: 'acme', outcome: 'success' },
  ]);
});
