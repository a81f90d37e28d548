import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { assertVerifiesClean, pushLokiLines, storedCounts } from '../../support/clusterNodes.js';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import type { RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

// Records without log.record.uid (plain Loki pushes): only the stream position stored with each row tells a
// redelivered message's committed records from missing ones. 3 nats-server, 2 meshlog nodes on loopback.
const tenant = 'exactly-once';
const stream = 'MESHLOG_RECORDS';
let cluster: TestCluster;
const nodes: Record<'a' | 'b', ClusterNode> = {} as never;

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
  [nodes.a, nodes.b] = cluster.nodes;
});

after(async () => {
  await cluster.stop();
});

/** Records of redelivered messages a node found committed already, from its /metrics. */
async function skippedOn(node: ClusterNode): Promise<number> {
  const response = await fetch(`${node.meshlog.url}/metrics`, { headers: { authorization: `Bearer ${node.meshlog.token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return Number(/^meshlog_stream_records_skipped_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
}

test('a node whose stream acknowledgements were all lost after its commits stores every record without id once', async () => {
  const lines = Array.from({ length: 300 }, (_, i) => `lost-ack ${i}`);
  for (let i = 0; i < lines.length; i += 50)
    assert.equal(await pushLokiLines(nodes.b.meshlog, tenant, 'lost-ack', lines.slice(i, i + 50)), 204);
  await caughtUp(cluster.observer, 'a', stream);
  // The worst case of a node killed between its commits and its acknowledgements: its consumer, and so every
  // acknowledgement it ever sent, is gone; the node creates it again and the whole stream comes back.
  await nodes.a.meshlog.kill();
  await (await jetstreamManager(cluster.observer)).consumers.delete(stream, 'meshlog-a');
  await nodes.a.restart();
  await caughtUp(cluster.observer, 'a', stream);
  const skipped = await skippedOn(nodes.a);

  await nodes.a.meshlog.stop();
  const counts = await storedCounts(nodes.a.meshlog.dataDir, 'lost-ack');
  for (const line of lines) assert.equal(counts.get(line), 1, `${line} stored ${counts.get(line) ?? 0} times on A`);
  assert.equal(counts.size, lines.length);
  assert.ok(skipped >= lines.length, `the replayed records were recognised as committed (${skipped})`);
  assertVerifiesClean(nodes.a.meshlog.dataDir);
  await nodes.a.restart();
});

test('SIGKILL of a writer node again and again under load: every record without id is stored exactly once on every node, verify clean', async (t) => {
  const acknowledged: string[] = [];
  let batches = 0;
  let sending = true;
  // One sender through B, batches of 25 plain Loki lines, while A is killed and restarted under it.
  const sender = (async () => {
    while (sending) {
      const batch = Array.from({ length: 25 }, (_, i) => `killed-writer ${batches}-${i}`);
      batches++;
      const status = await pushLokiLines(nodes.b.meshlog, tenant, 'killed-writer', batch);
      assert.equal(status, 204, 'B acknowledges while A dies and returns');
      acknowledged.push(...batch);
    }
  })();
  const kills = 4;
  const killed: RunningMeshlog[] = [];
  for (let kill = 0; kill < kills; kill++) {
    const before = acknowledged.length;
    // A commits under load before each kill: some commits are in flight, some acknowledgements not yet sent.
    await waitFor(() => acknowledged.length >= before + 250, { what: 'more records acknowledged through B', timeoutMs: 180_000 });
    await nodes.a.meshlog.kill();
    killed.push(nodes.a.meshlog);
    await nodes.a.restart();
  }
  sending = false;
  await sender;
  await caughtUp(cluster.observer, 'a', stream);
  await caughtUp(cluster.observer, 'b', stream);
  // How often a kill fell between a commit and its acknowledgement (not asserted: where a kill lands is chance).
  const skipped = [...killed.slice(1), nodes.a.meshlog].map((meshlog) =>
    meshlog
      .output()
      .split('\n')
      .filter((line) => line.includes('stream message committed before'))
      .reduce((sum, line) => sum + (JSON.parse(line) as { skipped: number }).skipped, 0),
  );
  t.diagnostic(`${kills} kills, ${acknowledged.length} records; committed records redelivered after each restart: ${skipped.join(', ')}`);

  await Promise.all([nodes.a.meshlog.stop(), nodes.b.meshlog.stop()]);
  for (const node of [nodes.a, nodes.b]) {
    const counts = await storedCounts(node.meshlog.dataDir, 'killed-writer');
    for (const line of acknowledged) assert.equal(counts.get(line), 1, `${line} stored ${counts.get(line) ?? 0} times on ${node.id}`);
    for (const [line, count] of counts) assert.equal(count, 1, `${line} stored ${count} times on ${node.id}`);
    assertVerifiesClean(node.meshlog.dataDir);
  }
  await nodes.a.restart();
  await nodes.b.restart();
});
