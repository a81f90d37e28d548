import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { bucketKey } from '../../../src/cluster/replicatedState.js';
import { apiCall } from '../../support/apiCall.js';
import { pushLokiLines } from '../../support/clusterNodes.js';
import { recentLines } from '../../support/lokiCall.js';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import type { RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes and 2 meshlog nodes (embedded stores, each a full copy): an erasure request filed through one node
// is seen, cancelled or executed through the other, and executed on both copies.
const tenant = 'acme';
let cluster: TestCluster;
let a: ClusterNode;
let b: ClusterNode;

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
  [a, b] = cluster.nodes;
});

after(async () => {
  await cluster?.stop();
});

const until = <T>(what: string, probe: () => Promise<T | undefined | false>) =>
  waitFor(probe, { what, timeoutMs: 180_000, intervalMs: 100 });

/** Files an erasure of everything of `job` in the last hour through `node`: its id. */
async function fileErasure(node: RunningMeshlog, job: string, token = node.token) {
  const now = Date.now();
  return apiCall(
    node,
    'POST',
    '/api/v1/admin/erasure-requests',
    {
      tenant,
      selector: `{service_name="${job}"}`,
      from: new Date(now - 3_600_000).toISOString(),
      to: new Date(now + 60_000).toISOString(),
      reason: 'data subject request',
    },
    token,
  );
}

const requestOn = async (node: RunningMeshlog, id: string) => {
  const found = await apiCall(node, 'GET', `/api/v1/admin/erasure-requests/${id}`);
  return found.status === 200 ? (found.body.request as { status: string; evidence: { records: number } | null }) : undefined;
};

test('an erasure filed through node A is seen on B, executed through B, and erases the records on both copies, each in its own ledger', async () => {
  const erased = Array.from({ length: 5 }, (_, i) => `user 4711 did ${i}`);
  const kept = Array.from({ length: 3 }, (_, i) => `unrelated ${i}`);
  assert.equal(await pushLokiLines(a.meshlog, tenant, 'subject', erased), 204);
  assert.equal(await pushLokiLines(b.meshlog, tenant, 'bystander', kept), 204);
  await caughtUp(cluster.observer, 'a');
  await caughtUp(cluster.observer, 'b');

  const filed = await fileErasure(a.meshlog, 'subject');
  assert.equal(filed.status, 201, JSON.stringify(filed.body));
  const id = filed.body.request.id as string;
  assert.equal((await until('B to see the request filed through A', () => requestOn(b.meshlog, id))).status, 'pending');

  const executed = await apiCall(b.meshlog, 'POST', `/api/v1/admin/erasure-requests/${id}/execute`);
  assert.equal(executed.status, 200, JSON.stringify(executed.body));
  assert.equal(executed.body.request.evidence.records, 5);
  // A executes it on its own copy once B's execution arrives, with its own evidence.
  const onA = await until('A to execute it too', async () => {
    const found = await requestOn(a.meshlog, id);
    return found?.status === 'executed' && found;
  });
  assert.equal(onA.evidence?.records, 5);
  for (const node of [a, b]) {
    assert.deepEqual(await recentLines(node.meshlog, tenant, '{service_name="subject"}'), [], `nothing of the subject left on ${node.id}`);
    assert.deepEqual((await recentLines(node.meshlog, tenant, '{service_name="bystander"}')).sort(), kept, `the rest stays on ${node.id}`);
    // Each node's deletion ledger holds the erasure it ran: a restore of either node's backup takes the records out again.
    const ledger = `${resolve(node.meshlog.dataDir)}-deletions.ndjson`;
    assert.ok(existsSync(ledger) && readFileSync(ledger, 'utf8').includes(id), `${node.id}'s ledger holds ${id}`);
  }
});

test('an erasure filed through node A and cancelled through B is cancelled on both: A can no longer execute it', async () => {
  assert.equal(await pushLokiLines(a.meshlog, tenant, 'reprieved', ['a line that stays']), 204);
  await caughtUp(cluster.observer, 'a');
  await caughtUp(cluster.observer, 'b');
  const filed = await fileErasure(a.meshlog, 'reprieved');
  assert.equal(filed.status, 201);
  const id = filed.body.request.id as string;
  await until('B to see the request', () => requestOn(b.meshlog, id));
  const cancelled = await apiCall(b.meshlog, 'POST', `/api/v1/admin/erasure-requests/${id}/cancel`, { reason: 'filed in error' });
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  await until('A to take the cancellation', async () => (await requestOn(a.meshlog, id))?.status === 'cancelled');
  assert.equal((await apiCall(a.meshlog, 'POST', `/api/v1/admin/erasure-requests/${id}/execute`)).status, 409);
  for (const node of [a, b]) assert.deepEqual(await recentLines(node.meshlog, tenant, '{service_name="reprieved"}'), ['a line that stays']);
});

test('an execution through A that raced a cancellation through B wins on both nodes and in the bucket: an erasure cannot be undone', async () => {
  assert.equal(await pushLokiLines(a.meshlog, tenant, 'raced', ['erased although cancelled']), 204);
  await caughtUp(cluster.observer, 'a');
  await caughtUp(cluster.observer, 'b');
  const filed = await fileErasure(a.meshlog, 'raced');
  const id = filed.body.request.id as string;
  await until('B to see the request', () => requestOn(b.meshlog, id));
  const cancelled = await apiCall(b.meshlog, 'POST', `/api/v1/admin/erasure-requests/${id}/cancel`, { reason: 'filed in error' });
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  // A executed it in the same moment: its executed version reaches the bucket right after B's cancellation
  // (the bucket's own value, status changed, as A's node would have written it).
  const bucket = await new Kvm(cluster.observer).open('meshlog_erasure_requests');
  const key = bucketKey(id);
  await until('the cancellation in the bucket', async () => (await bucket.get(key))?.json<{ status: string }>().status === 'cancelled');
  const latest = (await bucket.get(key))!.json<Record<string, unknown>>();
  const executedAt = new Date().toISOString();
  await bucket.put(
    key,
    JSON.stringify({
      ...latest,
      status: 'executed',
      closed_by: 'admin on a',
      closed_at: executedAt,
      cancel_reason: '',
      evidence: JSON.stringify({ executed_at: executedAt, stream_covered_until: executedAt }),
    }),
  );
  for (const node of [a, b]) {
    await until(`${node.id} to execute it`, async () => (await requestOn(node.meshlog, id))?.status === 'executed');
    assert.deepEqual(await recentLines(node.meshlog, tenant, '{service_name="raced"}'), [], `erased on ${node.id}`);
  }
  assert.equal((await bucket.get(key))!.json<{ status: string }>().status, 'executed', 'a node joining later reads executed');
  // A cancellation arriving after the execution leaves it executed, and the bucket says so again.
  await bucket.put(key, JSON.stringify({ ...latest, status: 'cancelled', closed_by: 'late admin', closed_at: new Date().toISOString() }));
  await until('the bucket to say executed again', async () => (await bucket.get(key))?.json<{ status: string }>().status === 'executed');
  for (const node of [a, b]) assert.equal((await requestOn(node.meshlog, id))?.status, 'executed');
});

test('an admin of another tenant, or an analyst, on node B can neither see, cancel nor execute an erasure filed through A', async () => {
  assert.equal(await pushLokiLines(a.meshlog, tenant, 'guarded', ['guarded line']), 204);
  const filed = await fileErasure(a.meshlog, 'guarded');
  assert.equal(filed.status, 201);
  const id = filed.body.request.id as string;
  const otherAdmin = await apiCall(a.meshlog, 'POST', '/api/v1/admin/keys', {
    name: 'globex admin',
    roles: ['admin'],
    tenants: ['globex'],
  });
  const analyst = await apiCall(a.meshlog, 'POST', '/api/v1/admin/keys', { name: 'acme analyst', roles: ['analyst'], tenants: [tenant] });
  assert.equal(otherAdmin.status, 201);
  assert.equal(analyst.status, 201);
  await until(
    'B to take the request and the keys',
    async () =>
      (await requestOn(b.meshlog, id)) &&
      (await apiCall(b.meshlog, 'GET', '/api/v1/admin/erasure-requests', undefined, otherAdmin.body.key)).status === 200 &&
      (await apiCall(b.meshlog, 'GET', '/api/v1/admin/erasure-requests', undefined, analyst.body.key)).status === 403,
  );
  const listed = await apiCall(b.meshlog, 'GET', '/api/v1/admin/erasure-requests', undefined, otherAdmin.body.key);
  assert.ok(!(listed.body.requests as { id: string }[]).some((request) => request.id === id), 'not listed to another tenant');
  for (const [key, refused] of [
    [otherAdmin.body.key as string, 404],
    [analyst.body.key as string, 403],
  ] as const) {
    assert.equal((await apiCall(b.meshlog, 'GET', `/api/v1/admin/erasure-requests/${id}`, undefined, key)).status, refused);
    assert.equal((await apiCall(b.meshlog, 'POST', `/api/v1/admin/erasure-requests/${id}/cancel`, { reason: 'x' }, key)).status, refused);
    assert.equal((await apiCall(b.meshlog, 'POST', `/api/v1/admin/erasure-requests/${id}/execute`, undefined, key)).status, refused);
    // Filing one for the tenant is refused as well: nothing reaches A through replication.
    assert.equal((await fileErasure(b.meshlog, 'guarded', key)).status, 403);
  }
  // A change made after the attempts: once A has it, A would have had anything the attempts sent before it.
  const marker = await fileErasure(b.meshlog, 'marker');
  assert.equal(marker.status, 201);
  await until('A to take the request filed after the attempts', () => requestOn(a.meshlog, marker.body.request.id));
  assert.equal((await requestOn(a.meshlog, id))?.status, 'pending');
  assert.equal((await requestOn(b.meshlog, id))?.status, 'pending');
  await caughtUp(cluster.observer, 'a');
  await caughtUp(cluster.observer, 'b');
  for (const node of [a, b]) assert.deepEqual(await recentLines(node.meshlog, tenant, '{service_name="guarded"}'), ['guarded line']);
});
