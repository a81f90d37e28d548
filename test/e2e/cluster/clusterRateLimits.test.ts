import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pushLokiLines } from '../../support/clusterNodes.js';
import { startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { waitFor } from '../../support/waitFor.js';

// limits.strategy global (the default) on 3 meshlog nodes (role all) over 3 nats-server: the cluster allows about the
// limit, not 3 times it. 1 record/s per tenant with a 300 s burst: the cluster's bucket holds 300 records, each node's
// third of it 100, and refills so slowly that what a test's own duration adds is bounded and counted (1 record a second).
const rate = 1;
const burst = 300;
const limits = `limits:\n  ingest_records_per_second_per_tenant: ${rate}\n  burst_seconds: ${burst / rate}\n`;
let cluster: TestCluster;

before(async () => {
  const spec = (id: string) => ({ id, cluster: ['membership:', '  heartbeat_ms: 500'], config: limits });
  cluster = await startTestCluster([spec('a'), spec('b'), spec('c')]);
});

after(async () => {
  await cluster.stop();
});

/** This node's count of live nodes taking a traffic, from its /metrics. */
async function nodesSeen(node: ClusterNode, traffic: 'ingest' | 'query'): Promise<number | undefined> {
  const response = await fetch(`${node.meshlog.url}/metrics`, { headers: { authorization: `Bearer ${node.meshlog.token}` } });
  const text = await response.text();
  const match = new RegExp(`^meshlog_cluster_nodes\\{traffic="${traffic}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

async function untilEachSees(nodes: ClusterNode[], count: number): Promise<void> {
  for (const node of nodes)
    await waitFor(async () => (await nodesSeen(node, 'ingest')) === count && (await nodesSeen(node, 'query')) === count, {
      what: `node ${node.id} to count ${count} live nodes`,
      timeoutMs: 60_000,
    });
}

/**
 * Pushes `requests` Loki requests of 10 lines of a tenant, round robin over
 * the nodes; the records accepted, and the most the limit allows in the time
 * it took (the burst plus the refill: the limit is a rate, the push takes time),
 * and when it started.
 */
async function pushSpread(nodes: ClusterNode[], tenant: string, requests: number) {
  const started = Date.now();
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < requests; i++) {
    const node = nodes[i % nodes.length];
    const lines = Array.from({ length: 10 }, (_, j) => `${tenant} ${i}.${j}`);
    const status = await pushLokiLines(node.meshlog, tenant, 'limits', lines);
    if (status === 204) accepted += lines.length;
    else if (status === 429) refused += lines.length;
    else assert.fail(`push to ${node.id} answered ${status}`);
  }
  const allowed = burst + Math.ceil(((Date.now() - started) / 1000) * rate);
  return { accepted, refused, allowed, started };
}

test('pushes of one tenant spread over 3 nodes are held to about the global limit; another tenant keeps its own', async () => {
  const nodes = cluster.nodes;
  await untilEachSees(nodes, 3);
  // 600 records: each node alone (limits.strategy local) would take its 200.
  const first = await pushSpread(nodes, 'limited-a', 60);
  assert.ok(first.accepted >= burst, `at least the burst passes: ${first.accepted}`);
  assert.ok(first.accepted <= first.allowed, `no more than the limit allows: ${first.accepted} > ${first.allowed}`);
  assert.ok(first.refused > 0);
  // Tenant a's exhausted buckets leave tenant b's whole: every node takes its push.
  for (const node of nodes) assert.equal(await pushLokiLines(node.meshlog, 'limited-b', 'limits', ['b is its own tenant']), 204);
  // Tenant a is still held on every node: each holds under 10 records after its last refusal, plus what refilled since
  // (a third of the rate each; the whole rate is counted here), so a push of more than that is refused, however long this took.
  const held = 11 + Math.ceil(((Date.now() - first.started) / 1000) * rate);
  assert.ok(held < burst / 3, `the push took too long to tell a held bucket from a refilled one (${held} records)`);
  const lines = Array.from({ length: held }, (_, i) => `a is still held ${i}`);
  for (const node of nodes) assert.equal(await pushLokiLines(node.meshlog, 'limited-a', 'limits', lines), 429);
});

test('once a node stops, the other two each take half of the limit', async () => {
  const [a, b, c] = cluster.nodes;
  await c.meshlog.stop();
  await untilEachSees([a, b], 2);
  // With a third each, the two would take 200 of a fresh tenant's 300.
  const after = await pushSpread([a, b], 'limited-c', 60);
  assert.ok(after.accepted >= burst, `the two nodes take the whole burst: ${after.accepted}`);
  assert.ok(after.accepted <= after.allowed, `no more than the limit allows: ${after.accepted} > ${after.allowed}`);
});
