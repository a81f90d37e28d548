import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { assertVerifiesClean, storedCounts } from '../../support/clusterNodes.js';
import { runFailoverSender, type SenderSpec, type SenderTally } from '../../support/failoverSender.js';
import { caughtUp, startTestCluster, type TestCluster } from '../../support/meshlogCluster.js';
import { waitFor } from '../../support/waitFor.js';

// Issue #21's proof on loopback: 3 nats-server, 3 meshlog nodes with the roles that give something of each kind
// to kill: `gw` (gateway: receives, stores nothing of the stream), `w` (writer: commits the stream, HTTP push only)
// and `all` (receives and commits). `w` and `all` each hold a full copy of the stream.
const stream = 'MESHLOG_RECORDS';
const tenant = 'chaos';
const job = 'chaos';
let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster([
    { id: 'gw', role: 'gateway' },
    { id: 'w', role: 'writer' },
    { id: 'all', role: 'all' },
  ]);
});

after(async () => {
  await cluster?.stop();
});

// 8 senders over the 3 nodes: Loki push and OTLP/HTTP, with record ids and without.
const senders: SenderSpec[] = Array.from({ length: 8 }, (_, i) => ({
  name: `s${i}`,
  protocol: i < 4 ? 'loki' : 'otlp',
  withIds: i % 2 === 0,
  home: i % 3,
}));

test('SIGKILL of the JetStream stream leader, then of a writer, then of a gateway under 8 senders (gateway, writer, all): every acknowledged record stored exactly once on both full copies, nothing stored unacknowledged but retried, verify clean', async (t) => {
  const tally: SenderTally = { acknowledged: [], attempted: new Set(), retries: 0, rejected: [] };
  const control = { sending: true, abandon: false };
  const running = senders.map((spec) =>
    runFailoverSender(spec, () => cluster.nodes.map((node) => node.meshlog), tenant, job, control, tally),
  );
  // Each blow lands mid-stream: more records were acknowledged since the last one.
  const progress = async (what: string) => {
    const from = tally.acknowledged.length;
    await waitFor(() => tally.acknowledged.length >= from + 250, { what: `250 more records acknowledged ${what}`, timeoutMs: 180_000 });
    t.diagnostic(`${tally.acknowledged.length} records acknowledged ${what} (${tally.retries} retries so far)`);
  };
  const manager = await jetstreamManager(cluster.observer);
  const writer = cluster.node('w');
  let leader: string | undefined;
  try {
    await progress('before the first kill');

    leader = (await manager.streams.info(stream)).cluster?.leader;
    const leaderIndex = cluster.nats.nodes.findIndex((_, index) => `n${index + 1}` === leader);
    assert.ok(leaderIndex >= 0, `the stream has a leader (${leader})`);
    await cluster.nats.nodes[leaderIndex].kill();
    await progress('with the stream leader killed');
    await cluster.nats.nodes[leaderIndex].start();
    await progress('after the old stream leader returned');

    await writer.meshlog.kill();
    await progress('with the writer killed');
    await writer.restart();
    await progress('after the writer returned');

    const gateway = cluster.node('gw');
    await gateway.meshlog.kill();
    await progress('with the gateway killed');
    await gateway.restart();
    await progress('after the gateway returned');
  } catch (error) {
    control.abandon = true;
    throw error;
  } finally {
    control.sending = false;
    await Promise.all(running);
  }
  assert.deepEqual(tally.rejected, [], 'no valid request refused as bad');
  const newLeader = (await manager.streams.info(stream)).cluster?.leader;
  t.diagnostic(
    `stream leader ${leader} killed (then ${newLeader}); ${tally.acknowledged.length} records acknowledged by 8 senders, ${tally.retries} requests retried to another node`,
  );
  await caughtUp(cluster.observer, 'w', stream);
  await caughtUp(cluster.observer, 'all', stream);

  await Promise.all(cluster.nodes.map((node) => node.meshlog.stop()));
  const acknowledged = new Set(tally.acknowledged);
  assert.equal(acknowledged.size, tally.acknowledged.length, 'each line acknowledged once by its sender');
  for (const node of [writer, cluster.node('all')]) {
    const counts = await storedCounts(node.meshlog.dataDir, job);
    const missing = [...acknowledged].filter((line) => counts.get(line) !== 1);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged records not stored exactly once on ${node.id}`);
    const twice = [...counts].filter(([, count]) => count !== 1);
    assert.deepEqual(twice.slice(0, 10), [], `records stored more than once on ${node.id}`);
    // A record stored without an acknowledgement must be one a sender sent (its answer lost in a kill), never anything else.
    const unknown = [...counts.keys()].filter((line) => !tally.attempted.has(line));
    assert.deepEqual(unknown, [], `records on ${node.id} that no sender sent`);
    assert.equal(counts.size, acknowledged.size, `every stored record on ${node.id} was acknowledged in the end`);
  }
  for (const node of cluster.nodes) assertVerifiesClean(node.meshlog.dataDir);
});
