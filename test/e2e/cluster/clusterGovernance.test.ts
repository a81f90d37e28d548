import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { verifierKeyString } from '../../../src/integrity/signedNote.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';
import { apiCall } from '../../support/apiCall.js';

// 3 nats-server processes and 2 meshlog nodes (embedded stores, each a full copy): governance set through one node is in force on the other.
const retention = 'retention:\n  default_max_age: 30d\n';
const fortyDaysAgo = String(BigInt(Date.now() - 40 * 86_400_000) * 1_000_000n);
let cluster: TestCluster;
let a: ClusterNode;
let b: ClusterNode;

before(async () => {
  cluster = await startTestCluster([
    { id: 'a', config: retention },
    { id: 'b', config: retention },
  ]);
  [a, b] = cluster.nodes;
});

after(async () => {
  await cluster?.stop();
});

const holdOn = async (node: RunningMeshlog, id: string) =>
  ((await apiCall(node, 'GET', '/api/v1/admin/retention')).body.holds as { id: string; released_at: string | null }[]).find(
    (hold) => hold.id === id,
  );

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

/** `meshlog verify` over a stopped node's data directory with a key set file: its exit status and output. */
function verifyWith(dataDir: string, keys: string[]): { status: number | null; output: string } {
  const file = join(tempDataDir('meshlog-keys-'), 'keys.pub');
  writeFileSync(file, `${keys.join('\n')}\n`);
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir, '--public-key', file], { encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

const until = <T>(what: string, probe: () => Promise<T | undefined | false>) =>
  waitFor(probe, { what, timeoutMs: 180_000, intervalMs: 50 });

test('a legal hold placed through node A stops disposal on node B; released through B, A disposes the records', async () => {
  const placed = await apiCall(a.meshlog, 'POST', '/api/v1/admin/legal-holds', {
    name: 'case 2026-41',
    tenant: 'acme',
    service: 'payments',
    reason: 'litigation',
  });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  const id = placed.body.hold.id as string;
  await until('B to hold what A placed', () => holdOn(b.meshlog, id));

  // Forty days old, past the 30-day default: disposable unless held.
  const old = { timeUnixNano: fortyDaysAgo };
  for (const [service, bodies] of [
    ['payments', ['payment 1 under hold', 'payment 2 under hold']],
    ['api', ['api line not held']],
  ] as const) {
    const pushed = await postOtlpJson(a.meshlog.url, a.meshlog.token, otlpJsonRequest(service, [...bodies], old), {
      'x-scope-orgid': 'acme',
    });
    assert.equal(pushed.status, 200, await pushed.text());
  }
  await caughtUp(cluster.observer, 'a');
  await caughtUp(cluster.observer, 'b');

  const onB = await apiCall(b.meshlog, 'POST', '/api/v1/admin/retention/run');
  assert.equal(onB.status, 200, JSON.stringify(onB.body));
  assert.equal(onB.body.disposed.records, 1, `B disposed only the record not held: ${JSON.stringify(onB.body)}`);

  assert.equal((await apiCall(b.meshlog, 'DELETE', `/api/v1/admin/legal-holds/${id}`)).status, 200);
  await until('A to see the hold released on B', async () => (await holdOn(a.meshlog, id))?.released_at);
  const onA = await apiCall(a.meshlog, 'POST', '/api/v1/admin/retention/run');
  assert.equal(onA.status, 200, JSON.stringify(onA.body));
  assert.equal(onA.body.disposed.records, 3, `A disposed the released records too: ${JSON.stringify(onA.body)}`);
});

test('an admin of another tenant, or an analyst, on node B cannot release a hold placed through node A, which stays in force on both', async () => {
  const placed = await apiCall(a.meshlog, 'POST', '/api/v1/admin/legal-holds', { name: 'case 2026-42', tenant: 'acme', reason: 'audit' });
  assert.equal(placed.status, 201);
  const id = placed.body.hold.id as string;
  const otherAdmin = await apiCall(a.meshlog, 'POST', '/api/v1/admin/keys', { name: 'other admin', roles: ['admin'], tenants: ['globex'] });
  const analyst = await apiCall(a.meshlog, 'POST', '/api/v1/admin/keys', { name: 'acme analyst', roles: ['analyst'], tenants: ['acme'] });
  assert.equal(otherAdmin.status, 201);
  assert.equal(analyst.status, 201);
  await until(
    'B to take the hold and the keys',
    async () =>
      (await holdOn(b.meshlog, id)) &&
      (await apiCall(b.meshlog, 'GET', '/api/v1/admin/retention', undefined, otherAdmin.body.key)).status === 200,
  );
  assert.equal((await apiCall(b.meshlog, 'DELETE', `/api/v1/admin/legal-holds/${id}`, undefined, otherAdmin.body.key)).status, 404);
  assert.equal((await apiCall(b.meshlog, 'DELETE', `/api/v1/admin/legal-holds/${id}`, undefined, analyst.body.key)).status, 403);
  const seenByOther = (await apiCall(b.meshlog, 'GET', '/api/v1/admin/retention', undefined, otherAdmin.body.key)).body.holds as {
    id: string;
  }[];
  assert.ok(!seenByOther.some((hold) => hold.id === id), 'another tenant’s admin does not even see it');

  // A hold placed after the attempts: once A has it, A would have had anything the attempts sent before it.
  const later = await apiCall(b.meshlog, 'POST', '/api/v1/admin/legal-holds', { name: 'case 2026-43', tenant: 'acme', reason: 'marker' });
  assert.equal(later.status, 201);
  await until('A to take the hold placed after the attempts', () => holdOn(a.meshlog, later.body.hold.id));
  assert.equal((await holdOn(a.meshlog, id))?.released_at, null);
  assert.equal((await holdOn(b.meshlog, id))?.released_at, null);
});

// Last: it stops node A to verify its data directory offline.
test('every node publishes its signing key; seals of node A verify with the key set read from node B, and not without A’s key', async () => {
  const ownKey = async (node: RunningMeshlog) => (await apiCall(node, 'GET', '/api/v1/integrity/public-key')).body.verifierKey as string;
  const [keyOfA, keyOfB] = [await ownKey(a.meshlog), await ownKey(b.meshlog)];
  assert.notEqual(keyOfA, keyOfB, 'each node signs with its own key');
  const publishedOn = async (node: RunningMeshlog) =>
    ((await apiCall(node, 'GET', '/api/v1/integrity/public-keys')).body.keys as { node: string; verifierKey: string }[]).map(
      (key) => key.verifierKey,
    );
  await until('B to publish both nodes’ keys', async () => (await publishedOn(b.meshlog)).includes(keyOfA));
  const keySet = await publishedOn(b.meshlog);
  assert.deepEqual([...keySet].sort(), [keyOfA, keyOfB].sort());
  // An auditor may read the key set; a key of another tenant's ingester may not.
  const ingester = await apiCall(a.meshlog, 'POST', '/api/v1/admin/keys', { name: 'ingester', roles: ['ingester'], tenants: ['acme'] });
  await until(
    'B to take the ingester key',
    async () => (await apiCall(b.meshlog, 'GET', '/api/v1/integrity/public-keys', undefined, ingester.body.key)).status === 403,
  );

  assert.equal(await a.meshlog.stop(), 0);
  const withSet = verifyWith(a.meshlog.dataDir, keySet);
  assert.equal(withSet.status, 0, withSet.output);
  assert.match(withSet.output, /^OK /m);
  // The seals of A checked against a set A's key is not in (B's, and a key of no node): every checkpoint refused.
  const stranger = verifierKeyString(
    'meshlog-stranger',
    generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32),
  );
  const withoutA = verifyWith(a.meshlog.dataDir, [keyOfB, stranger]);
  assert.equal(withoutA.status, 1, withoutA.output);
  assert.match(withoutA.output, /CHECKPOINT_FORGED .*signed by none of the 2 accepted keys/);
  await a.restart();
});
