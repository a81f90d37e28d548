import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { recentLines } from '../../support/lokiCall.js';
import { caughtUp as caughtUpWith, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import type { RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes (one JetStream cluster, R3 stream) and 2 meshlog nodes on loopback.
const tenant = 'cluster-test';
let cluster: TestCluster;
const nodes: Record<'a' | 'b', ClusterNode> = {} as never;

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
  [nodes.a, nodes.b] = cluster.nodes;
});

after(async () => {
  await cluster.stop();
});

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

function lokiPushBody(job: string, lines: string[], firstNs = nowNs()): string {
  return JSON.stringify({ streams: [{ stream: { job }, values: lines.map((line, i) => [String(firstNs + BigInt(i)), line]) }] });
}

async function pushLoki(node: RunningMeshlog, body: string, token = node.token): Promise<number> {
  const response = await fetch(`${node.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-scope-orgid': tenant },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** OTLP/JSON whose records carry log.record.uid, as the agent sends them. */
async function pushOtlpWithIds(node: RunningMeshlog, job: string, lines: string[]): Promise<number> {
  const body = JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: job } }] },
        scopeLogs: [
          {
            logRecords: lines.map((line) => ({
              timeUnixNano: String(nowNs()),
              body: { stringValue: line },
              attributes: [{ key: 'log.record.uid', value: { stringValue: `uid-${line}` } }],
            })),
          },
        ],
      },
    ],
  });
  const response = await fetch(`${node.url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json', 'x-scope-orgid': tenant },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** Every stored line of a selector, as the Loki API returns them. */
const caughtUp = (id: 'a' | 'b') => caughtUpWith(cluster.observer, id);

function countsOf(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

test('a record pushed to node A is read back from node B', async () => {
  const lines = ['first through A', 'second through A', 'third through A'];
  assert.equal(await pushLoki(nodes.a.meshlog, lokiPushBody('a-to-b', lines)), 204);
  const onB = await waitFor(
    async () => {
      const found = await recentLines(nodes.b.meshlog, tenant, '{job="a-to-b"}');
      return found.length >= lines.length && found;
    },
    { what: 'the lines pushed to A on B' },
  );
  assert.deepEqual([...onB].sort(), [...lines].sort());
});

test('the same request retried to the other node is stored once on every node, with record ids or without', async () => {
  const body = lokiPushBody('retried', ['retried without id 1', 'retried without id 2']);
  assert.equal(await pushLoki(nodes.a.meshlog, body), 204);
  // The agent did not see A's answer and sends the same request to B.
  assert.equal(await pushLoki(nodes.b.meshlog, body), 204);
  assert.equal(await pushOtlpWithIds(nodes.b.meshlog, 'retried-ids', ['with id 1', 'with id 2']), 200);
  assert.equal(await pushOtlpWithIds(nodes.a.meshlog, 'retried-ids', ['with id 1', 'with id 2']), 200);
  await caughtUp('a');
  await caughtUp('b');
  for (const node of [nodes.a.meshlog, nodes.b.meshlog]) {
    assert.deepEqual([...(await recentLines(node, tenant, '{job="retried"}'))].sort(), ['retried without id 1', 'retried without id 2']);
    assert.deepEqual([...(await recentLines(node, tenant, '{service_name="retried-ids"}'))].sort(), ['with id 1', 'with id 2']);
  }
});

test('a key revoked through node A is refused by node B', async () => {
  const created = await fetch(`${nodes.a.meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodes.a.meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'shipper', roles: ['ingester'], tenants: [tenant] }),
  });
  assert.equal(created.status, 201);
  const { id, key } = (await created.json()) as { id: string; key: string };
  // Created through A, the key works on B.
  await waitFor(async () => (await pushLoki(nodes.b.meshlog, lokiPushBody('keyed', ['with the key']), key)) === 204, {
    what: 'the key created on A to be taken by B',
  });
  const revoked = await fetch(`${nodes.a.meshlog.url}/api/v1/admin/keys/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${nodes.a.meshlog.token}` },
  });
  assert.equal(revoked.status, 200, await revoked.text());
  await waitFor(async () => (await pushLoki(nodes.b.meshlog, lokiPushBody('keyed', ['after revocation']), key)) === 401, {
    what: 'B to refuse the key revoked on A',
  });
  assert.equal(await pushLoki(nodes.a.meshlog, lokiPushBody('keyed', ['after revocation']), key), 401);
});

test('SIGKILL of node A mid-ingest: every acknowledged record is stored exactly once on B, and on A once it is restarted', async () => {
  const acknowledged: string[] = [];
  let sent = 0;
  let stopSending = false;
  // One sender to A, batches of 20 records with ids, until A dies under it.
  const sender = (async () => {
    while (!stopSending) {
      const batch = Array.from({ length: 20 }, (_, i) => `kill-${sent}-${i}`);
      sent++;
      try {
        if ((await pushOtlpWithIds(nodes.a.meshlog, 'killed', batch)) === 200) acknowledged.push(...batch);
      } catch {
        return; // A is gone.
      }
    }
  })();
  await waitFor(() => acknowledged.length >= 200, { what: '10 batches acknowledged by A' });
  await nodes.a.meshlog.kill();
  stopSending = true;
  await sender;

  await caughtUp('b');
  const onB = countsOf(await recentLines(nodes.b.meshlog, tenant, '{service_name="killed"}'));
  for (const line of acknowledged) assert.equal(onB.get(line), 1, `${line} acknowledged by A, stored on B ${onB.get(line) ?? 0} times`);
  for (const [line, count] of onB) assert.equal(count, 1, `${line} stored ${count} times on B`);

  // A comes back with its data directory and resumes from its consumer's position.
  await nodes.a.restart();
  await caughtUp('a');
  const onA = countsOf(await recentLines(nodes.a.meshlog, tenant, '{service_name="killed"}'));
  for (const line of acknowledged)
    assert.equal(onA.get(line), 1, `${line} acknowledged before the kill, stored on A ${onA.get(line) ?? 0} times`);
  assert.deepEqual(onA, onB);
});

test('with one of three NATS servers down, ingest is still acknowledged and reaches every node', async () => {
  await cluster.nats.nodes[0].kill();
  try {
    const body = lokiPushBody('two-of-three', ['while n1 is down']);
    // The client may need a moment to move to another server (and JetStream to elect a new stream leader): a retry, as an agent does.
    await waitFor(async () => (await pushLoki(nodes.a.meshlog, body)) === 204, { what: 'an acknowledgement with two NATS servers' });
    await pushLoki(nodes.b.meshlog, lokiPushBody('two-of-three', ['through B while n1 is down']));
    for (const node of [nodes.a.meshlog, nodes.b.meshlog])
      await waitFor(async () => (await recentLines(node, tenant, '{job="two-of-three"}')).length === 2, {
        what: 'both lines on every node',
      });
  } finally {
    await cluster.nats.nodes[0].start();
  }
});
