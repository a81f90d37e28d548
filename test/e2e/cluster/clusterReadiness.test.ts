import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { clusterConfigFile, pushLokiLines, startClusterNode, type ClusterNode } from '../../support/clusterNodes.js';
import { caughtUp } from '../../support/meshlogCluster.js';
import { startNatsCluster, type NatsCluster } from '../../support/natsCluster.js';
import { waitFor } from '../../support/waitFor.js';

// /ready and /metrics of cluster nodes: 3 nats-server, 2 meshlog on loopback.
const stream = 'MESHLOG_RECORDS';
let nats: NatsCluster;
let observer: NatsConnection;
const nodes: Record<'a' | 'b', ClusterNode> = {} as never;

before(async () => {
  nats = await startNatsCluster(3);
  observer = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  nodes.a = await startClusterNode('a', clusterConfigFile('a', nats.urls));
  nodes.b = await startClusterNode('b', clusterConfigFile('b', nats.urls));
});

after(async () => {
  await Promise.all(Object.values(nodes).map((node) => node.meshlog.stop()));
  await observer.close();
  await nats.stop();
});

async function ready(node: ClusterNode): Promise<{ status: number; text: string }> {
  const response = await fetch(`${node.meshlog.url}/ready`);
  return { status: response.status, text: await response.text() };
}

/** One consumer gauge of a node's /metrics, undefined when absent. */
async function consumerGauge(node: ClusterNode, name: string, consumer: string): Promise<number | undefined> {
  const response = await fetch(`${node.meshlog.url}/metrics`, { headers: { authorization: `Bearer ${node.meshlog.token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const match = new RegExp(`^${name}\\{stream="${stream}",consumer="${consumer}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

test("/metrics on any node shows every node's stream lag: a stopped node's pending messages grow, and drain once it is back", async () => {
  await caughtUp(observer, 'b', stream);
  await nodes.b.meshlog.stop();
  for (let i = 0; i < 5; i++) assert.equal(await pushLokiLines(nodes.a.meshlog, 'lag', 'lag', [`while b is down ${i}`]), 204);
  await caughtUp(observer, 'a', stream);
  assert.equal(await consumerGauge(nodes.a, 'meshlog_stream_consumer_pending', 'meshlog-a'), 0);
  assert.equal(await consumerGauge(nodes.a, 'meshlog_stream_consumer_ack_pending', 'meshlog-a'), 0);
  assert.ok((await consumerGauge(nodes.a, 'meshlog_stream_consumer_redelivered', 'meshlog-a')) !== undefined);
  assert.ok(((await consumerGauge(nodes.a, 'meshlog_stream_consumer_pending', 'meshlog-b')) ?? 0) >= 5, "B's lag is seen on A");

  nodes.b = await startClusterNode('b', nodes.b.config, nodes.b.dataDir);
  await waitFor(async () => (await consumerGauge(nodes.a, 'meshlog_stream_consumer_pending', 'meshlog-b')) === 0, {
    what: "B's lag to drain, as A's /metrics sees it",
    timeoutMs: 180_000,
  });
  assert.equal((await ready(nodes.b)).status, 200);
});

test('/ready answers 503 naming NATS while no NATS server answers, and ready again once they are back', async () => {
  assert.deepEqual(await ready(nodes.a), { status: 200, text: 'ready\n' });
  await Promise.all(nats.nodes.map((node) => node.kill()));
  const down = await waitFor(
    async () => {
      const answer = await ready(nodes.a);
      return answer.status === 503 && answer;
    },
    { what: '/ready to say the node cannot work without NATS' },
  );
  assert.match(down.text, /^not ready: .*(NATS|record stream)/);
  // Queries do not need NATS: the node still answers them.
  const query = await fetch(`${nodes.a.meshlog.url}/loki/api/v1/labels`, {
    headers: { authorization: `Bearer ${nodes.a.meshlog.token}`, 'x-scope-orgid': 'lag' },
  });
  assert.equal(query.status, 200);

  await Promise.all(nats.nodes.map((node) => node.start()));
  await waitFor(async () => (await ready(nodes.a)).status === 200, { what: '/ready once NATS is back', timeoutMs: 180_000 });
  // And it works again: a record pushed now is committed by both nodes.
  await waitFor(async () => (await pushLokiLines(nodes.a.meshlog, 'lag', 'lag', ['after NATS came back'])) === 204, {
    what: 'ingest acknowledged once NATS is back',
    timeoutMs: 120_000,
  });
  await caughtUp(observer, 'a', stream);
  await caughtUp(observer, 'b', stream);
});
