import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall } from '../../support/apiCall.js';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import type { RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

// Spans (OTLP traces) on the replicated record stream: 3 nats-server, meshlog nodes a, b and c (role all) on loopback.
const tenant = 'spans-a';
let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
});

after(async () => {
  await cluster.stop();
});

/** A server span and its client child, as OTLP/JSON. */
function otlpTrace(traceId: string, service: string): string {
  const start = BigInt(Date.now()) * 1_000_000n;
  const span = (spanId: string, parentSpanId: string, name: string, offsetNs: bigint) => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: parentSpanId ? 3 : 2,
    startTimeUnixNano: String(start + offsetNs),
    endTimeUnixNano: String(start + offsetNs + 1_000_000n),
    attributes: [{ key: 'http.route', value: { stringValue: '/pay' } }],
  });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'checkout.http' },
            spans: [span('eee19b7ec3c1b174', '', 'POST /pay', 0n), span('00f067aa0ba902b7', 'eee19b7ec3c1b174', 'charge card', 500_000n)],
          },
        ],
      },
    ],
  });
}

async function sendTrace(node: RunningMeshlog, traceId: string, service = 'checkout'): Promise<number> {
  const response = await fetch(`${node.url}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json', 'x-scope-orgid': tenant },
    body: otlpTrace(traceId, service),
  });
  await response.arrayBuffer();
  return response.status;
}

/** The span ids of a trace as a node's trace API answers them for a tenant. */
async function spanIds(node: ClusterNode, traceId: string, asTenant = tenant, token = node.meshlog.token) {
  const response = await fetch(`${node.meshlog.url}/api/v1/traces/${traceId}`, {
    headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': asTenant },
  });
  const body = (await response.json()) as { spans?: { span_id: string }[] };
  return { status: response.status, ids: (body.spans ?? []).map((span) => span.span_id).sort() };
}

const both = ['00f067aa0ba902b7', 'eee19b7ec3c1b174'];

test('spans sent to node A are found through the trace API of B and C, each once, a retry through B included', async () => {
  const traceId = '5b8efff798038103d269b633813fc60c';
  assert.equal(await sendTrace(cluster.node('a').meshlog, traceId), 200);
  // The client's retry of the same request, to another node: stored once (the stream's message id).
  assert.equal(await sendTrace(cluster.node('b').meshlog, traceId), 200);
  for (const id of ['a', 'b', 'c']) {
    await caughtUp(cluster.observer, id);
    assert.deepEqual(await spanIds(cluster.node(id), traceId), { status: 200, ids: both }, `node ${id}`);
  }
});

test('a node down while spans are sent stores them once it is back', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const c = cluster.node('c');
  await c.meshlog.stop();
  assert.equal(await sendTrace(cluster.node('a').meshlog, traceId), 200);
  await c.restart();
  await caughtUp(cluster.observer, 'c');
  assert.deepEqual(await spanIds(c, traceId), { status: 200, ids: both });
});

test("tenant A's spans are not readable as tenant B on any node, by a tenant-B key or by naming tenant B", async () => {
  const traceId = '5b8efff798038103d269b633813fc60c';
  const created = await apiCall(cluster.node('a').meshlog, 'POST', '/api/v1/admin/keys', {
    name: 'tenant-b reader',
    roles: ['analyst'],
    tenants: ['spans-b'],
  });
  assert.equal(created.status, 201);
  const key = created.body.key as string;
  for (const node of cluster.nodes) {
    // Once the key reached the node (replicated): it reads tenant B, where the spans are not.
    await waitFor(async () => (await spanIds(node, traceId, 'spans-b', key)).status === 200, { what: `node ${node.id} to take the key` });
    assert.deepEqual(await spanIds(node, traceId, 'spans-b', key), { status: 200, ids: [] }, `node ${node.id}`);
    assert.deepEqual(await spanIds(node, traceId, 'spans-b'), { status: 200, ids: [] }, `node ${node.id}, admin naming spans-b`);
    const asA = await spanIds(node, traceId, tenant, key);
    assert.ok(asA.status === 403 && asA.ids.length === 0, `tenant-b key asking for ${tenant} on ${node.id}: ${asA.status}`);
  }
});

test('spans a node takes from the stream after an erasure ran are not stored when the erasure covers them', async () => {
  const [a, c] = [cluster.node('a'), cluster.node('c')];
  const erasedTrace = '0af7651916cd43dd8448eb211c80319c';
  const laterTrace = '0af7651916cd43dd8448eb211c80319d';
  await c.meshlog.stop();
  assert.equal(await sendTrace(a.meshlog, erasedTrace, 'data-subject'), 200);
  await caughtUp(cluster.observer, 'a');
  const now = Date.now();
  const filed = await apiCall(a.meshlog, 'POST', '/api/v1/admin/erasure-requests', {
    tenant,
    selector: '{service_name="data-subject"}',
    from: new Date(now - 3_600_000).toISOString(),
    to: new Date(now + 3_600_000).toISOString(),
    reason: 'data subject request',
  });
  assert.equal(filed.status, 201, JSON.stringify(filed.body));
  const executed = await apiCall(a.meshlog, 'POST', `/api/v1/admin/erasure-requests/${filed.body.request.id}/execute`);
  assert.equal(executed.status, 200, JSON.stringify(executed.body));
  assert.deepEqual(await spanIds(a, erasedTrace), { status: 200, ids: [] }, 'erased on the node that ran it');
  // In the erasure's scope and time range, but taken by the stream after it: stored everywhere.
  assert.equal(await sendTrace(a.meshlog, laterTrace, 'data-subject'), 200);
  await c.restart();
  await caughtUp(cluster.observer, 'c');
  assert.deepEqual(await spanIds(c, erasedTrace), { status: 200, ids: [] }, 'not stored by the node that replayed them');
  assert.deepEqual(await spanIds(c, laterTrace), { status: 200, ids: both });
  // The replaying node's evidence counts the spans it dropped; the node that erased stored ones dropped none.
  const evidenceOn = async (node: typeof a) =>
    (await apiCall(node.meshlog, 'GET', `/api/v1/admin/erasure-requests/${filed.body.request.id}`)).body.request.evidence;
  assert.equal((await evidenceOn(c)).spans_dropped_from_stream, both.length);
  assert.equal((await evidenceOn(a)).spans_dropped_from_stream, undefined);
});
