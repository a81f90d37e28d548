import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertVerifiesClean, pushLokiLines, storedCounts } from '../../support/clusterNodes.js';
import { caughtUp, startClusterNode, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { readCommitted } from '../../support/storageReader.js';
import { apiCall } from '../../support/apiCall.js';

// 3 nats-server processes and meshlog nodes with embedded stores (each a full copy of the record stream). Records of a data
// subject are ingested while node B is down, then erased through A. B, restarted, and C, a node started afterwards, take
// those records from the stream (replay): neither may store them, and both count them in the request's evidence.
let cluster: TestCluster;
let a: ClusterNode;
let b: ClusterNode;
let c: ClusterNode | undefined;
let requestId = '';

const subject = Array.from({ length: 4 }, (_, i) => `user 4711 did ${i}`);
const bystander = ['unrelated 0', 'unrelated 1'];
const otherTenant = Array.from({ length: 3 }, (_, i) => `globex user 4711 did ${i}`);
const afterErasure = ['user 4711 came back'];
const held = ['user 4711 under hold 0', 'user 4711 under hold 1'];

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
  [a, b] = cluster.nodes;
  await b.meshlog.stop();
  // While B is down: B's consumer takes these from the stream only after the erasure.
  assert.equal(await pushLokiLines(a.meshlog, 'acme', 'subject', subject), 204);
  assert.equal(await pushLokiLines(a.meshlog, 'acme', 'bystander', bystander), 204);
  // In the erasure's scope but under a legal hold: kept by the erasure, so kept on replay too.
  assert.equal(await pushLokiLines(a.meshlog, 'acme', 'subject-held', held), 204);
  const hold = await apiCall(a.meshlog, 'POST', '/api/v1/admin/legal-holds', {
    name: 'case 4711',
    tenant: 'acme',
    service: 'subject-held',
    reason: 'litigation',
  });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  // The same selector in another tenant: an erasure of acme's never touches it.
  assert.equal(await pushLokiLines(a.meshlog, 'globex', 'subject', otherTenant), 204);
  await caughtUp(cluster.observer, 'a');
  const now = Date.now();
  const filed = await apiCall(a.meshlog, 'POST', '/api/v1/admin/erasure-requests', {
    tenant: 'acme',
    selector: '{service_name=~"subject.*"}',
    from: new Date(now - 3_600_000).toISOString(),
    to: new Date(now + 3_600_000).toISOString(),
    reason: 'data subject request',
  });
  assert.equal(filed.status, 201, JSON.stringify(filed.body));
  requestId = filed.body.request.id;
  const executed = await apiCall(a.meshlog, 'POST', `/api/v1/admin/erasure-requests/${requestId}/execute`);
  assert.equal(executed.status, 200, JSON.stringify(executed.body));
  assert.equal(executed.body.request.evidence.records, subject.length);
  assert.equal(executed.body.request.evidence.held, held.length);
  // Within the erasure's time range, but taken by the stream after it: stored everywhere.
  assert.equal(await pushLokiLines(a.meshlog, 'acme', 'subject', afterErasure), 204);
  await caughtUp(cluster.observer, 'a');
});

after(async () => {
  await c?.meshlog.stop();
  await cluster?.stop();
});

interface Evidence {
  records: number;
  dropped_from_stream?: number;
  stream_covered_until_seq?: number;
}

/** The request's evidence on `node` once it has committed the whole stream (a message's drops are counted before its ack). */
async function evidenceOn(node: ClusterNode): Promise<Evidence> {
  await caughtUp(cluster.observer, node.id);
  const found = await apiCall(node.meshlog, 'GET', `/api/v1/admin/erasure-requests/${requestId}`);
  assert.equal(found.body?.request?.status, 'executed', `executed on ${node.id}`);
  return found.body.request.evidence as Evidence;
}

/** What a stopped node stored: bodies of acme's and globex's `subject` records, of acme's bystander, and verify clean. */
async function storedOn(node: ClusterNode) {
  await node.meshlog.stop();
  assertVerifiesClean(node.meshlog.dataDir);
  const subjects = [...(await storedCounts(node.meshlog.dataDir, 'subject')).keys()].sort();
  const bystanders = [...(await storedCounts(node.meshlog.dataDir, 'bystander')).keys()].sort();
  const kept = [...(await storedCounts(node.meshlog.dataDir, 'subject-held')).keys()].sort();
  return { subjects, bystanders, kept };
}

test('node B, down during the erasure and restarted, never stores the erased records it replays and counts them as dropped', async () => {
  await b.restart();
  const evidence = await evidenceOn(b);
  const stored = await storedOn(b);
  assert.deepEqual(stored.subjects, [...afterErasure, ...otherTenant].sort());
  assert.deepEqual(stored.bystanders, bystander);
  assert.deepEqual(stored.kept, held, 'records under a legal hold are kept on replay');
  assert.equal(evidence.records, 0, 'B had none of them stored');
  assert.equal(evidence.dropped_from_stream, subject.length);
});

test('a new node C replays the whole stream after the erasure: none of the erased records, everything else (held records too), verify clean', async () => {
  c = await startClusterNode(cluster.nats, 'c');
  const evidence = await evidenceOn(c);
  const stored = await storedOn(c);
  assert.deepEqual(stored.subjects, [...afterErasure, ...otherTenant].sort());
  assert.deepEqual(stored.bystanders, bystander);
  assert.deepEqual(stored.kept, held, 'records under a legal hold are kept on replay');
  assert.equal(evidence.records, 0);
  assert.equal(evidence.dropped_from_stream, subject.length);
  // A, which erased stored rows, dropped nothing and still verifies clean too.
  const onA = await apiCall(a.meshlog, 'GET', `/api/v1/admin/erasure-requests/${requestId}`);
  assert.equal(onA.body.request.evidence.dropped_from_stream, 0);
  // Every node covers the stream up to the sequence of the first execution (A's), not up to its own clock.
  const coveredSeq = onA.body.request.evidence.stream_covered_until_seq;
  assert.ok(Number.isInteger(coveredSeq) && coveredSeq > 0, `A's evidence names a stream sequence: ${coveredSeq}`);
  assert.equal(evidence.stream_covered_until_seq, coveredSeq);
});

test('attack: an erasure of tenant acme drops none of globex’s records with the same selector on replay', async () => {
  // B and C are stopped (above): their copies, read by tenant.
  for (const node of [b, c!]) {
    const rows = await readCommitted<{ tenant: string; n: string }>(
      node.meshlog.dataDir,
      `SELECT tenant, count() AS n FROM meshlog.logs WHERE service_name = 'subject' GROUP BY tenant ORDER BY tenant`,
    );
    assert.deepEqual(
      rows.map((row) => [row.tenant, Number(row.n)]),
      [
        ['acme', afterErasure.length],
        ['globex', otherTenant.length],
      ],
      `tenants on ${node.id}`,
    );
  }
});
