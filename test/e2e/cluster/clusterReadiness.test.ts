import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { pushLokiLines } from '../../support/clusterNodes.js';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { waitFor } from '../../support/waitFor.js';

// /ready and /metrics of cluster nodes: 3 nats-server, meshlog nodes a and b (role all) and g (gateway) on loopback.
const stream = 'MESHLOG_RECORDS';
let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster([
    { id: 'a' },
    // No lag allowed at start: the test decides when b's backlog is delivered.
    { id: 'b', cluster: ['stream:', '  ready_max_lag: 0'] },
    { id: 'g', role: 'gateway' },
  ]);
});

after(async () => {
  await cluster.stop();
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
  const [a, b] = [cluster.node('a'), cluster.node('b')];
  await caughtUp(cluster.observer, 'b', stream);
  await b.meshlog.stop();
  for (let i = 0; i < 5; i++) assert.equal(await pushLokiLines(a.meshlog, 'lag', 'lag', [`while b is down ${i}`]), 204);
  await caughtUp(cluster.observer, 'a', stream);
  assert.equal(await consumerGauge(a, 'meshlog_stream_consumer_pending', 'meshlog-a'), 0);
  assert.equal(await consumerGauge(a, 'meshlog_stream_consumer_ack_pending', 'meshlog-a'), 0);
  assert.ok((await consumerGauge(a, 'meshlog_stream_consumer_redelivered', 'meshlog-a')) !== undefined);
  assert.ok(((await consumerGauge(a, 'meshlog_stream_consumer_pending', 'meshlog-b')) ?? 0) >= 5, "B's lag is seen on A");

  await b.restart();
  await waitFor(async () => (await consumerGauge(a, 'meshlog_stream_consumer_pending', 'meshlog-b')) === 0, {
    what: "B's lag to drain, as A's /metrics sees it",
    timeoutMs: 180_000,
  });
  await waitFor(async () => (await ready(b)).status === 200, { what: 'b ready once caught up', timeoutMs: 60_000 });
});

test('a node restarted with a backlog in the stream is not ready, saying how far behind, until it caught up; a gateway does not wait for a consumer', async () => {
  const [a, b, g] = [cluster.node('a'), cluster.node('b'), cluster.node('g')];
  await caughtUp(cluster.observer, 'b', stream);
  await b.meshlog.stop();
  const backlog = 3;
  for (let i = 0; i < backlog; i++) assert.equal(await pushLokiLines(g.meshlog, 'lag', 'backlog', [`backlog ${i}`]), 204);
  await caughtUp(cluster.observer, 'a', stream);

  // The backlog is held undelivered to b: the test pulls b's own messages and keeps them unacknowledged
  // (marked as in progress, so they are not redelivered) until it lets them go.
  const held: JsMsg[] = [];
  const bConsumer = await jetstream(cluster.observer).consumers.get(stream, 'meshlog-b');
  await waitFor(
    async () => {
      for await (const message of await bConsumer.fetch({ max_messages: backlog - held.length, expires: 2_000 })) held.push(message);
      return held.length === backlog;
    },
    { what: "the test to hold b's backlog", timeoutMs: 60_000 },
  );
  const keepHolding = setInterval(() => held.forEach((message) => message.working()), 5_000);
  try {
    await b.restart();
    const behind = await waitFor(
      async () => {
        const answer = await ready(b);
        return answer.status === 503 && answer;
      },
      { what: 'b to say it is catching up', timeoutMs: 60_000 },
    );
    assert.match(behind.text, new RegExp(`^not ready: record stream consumer meshlog-b catching up: ${backlog} messages behind`));
    // Neither the other writer nor the gateway waits for b; the gateway holds no consumer at all.
    assert.deepEqual(await ready(a), { status: 200, text: 'ready\n' });
    assert.deepEqual(await ready(g), { status: 200, text: 'ready\n' });
    const manager = await jetstreamManager(cluster.observer);
    await assert.rejects(manager.consumers.info(stream, 'meshlog-g'), /consumer not found/);
  } finally {
    clearInterval(keepHolding);
  }

  held.forEach((message) => message.nak());
  await waitFor(async () => (await ready(b)).status === 200, { what: 'b ready once its backlog is committed', timeoutMs: 120_000 });
  await caughtUp(cluster.observer, 'b', stream);
});

test('/ready answers 503 naming NATS while no NATS server answers, and ready again once they are back', async () => {
  const a = cluster.node('a');
  assert.deepEqual(await ready(a), { status: 200, text: 'ready\n' });
  await Promise.all(cluster.nats.nodes.map((node) => node.kill()));
  const down = await waitFor(
    async () => {
      const answer = await ready(a);
      return answer.status === 503 && answer;
    },
    { what: '/ready to say the node cannot work without NATS' },
  );
  assert.match(down.text, /^not ready: .*(NATS|record stream)/);
  // Queries do not need NATS: the node still answers them.
  const query = await fetch(`${a.meshlog.url}/loki/api/v1/labels`, {
    headers: { authorization: `Bearer ${a.meshlog.token}`, 'x-scope-orgid': 'lag' },
  });
  assert.equal(query.status, 200);

  await Promise.all(cluster.nats.nodes.map((node) => node.start()));
  await waitFor(async () => (await ready(a)).status === 200, { what: '/ready once NATS is back', timeoutMs: 180_000 });
  // And it works again: a record pushed now is committed by both nodes.
  await waitFor(async () => (await pushLokiLines(a.meshlog, 'lag', 'lag', ['after NATS came back'])) === 204, {
    what: 'ingest acknowledged once NATS is back',
    timeoutMs: 120_000,
  });
  await caughtUp(cluster.observer, 'a', stream);
  await caughtUp(cluster.observer, 'b', stream);
});
