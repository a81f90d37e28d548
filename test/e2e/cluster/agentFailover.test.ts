import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startAgent, waitUntil, type RunningAgent } from '../../support/agentProcess.js';
import { storedCounts } from '../../support/clusterNodes.js';
import { caughtUp, startTestCluster, type TestCluster } from '../../support/meshlogCluster.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

// An agent given the two nodes of a cluster (3 nats-server, 2 meshlog on loopback) loses the one it sends to.
const stream = 'MESHLOG_RECORDS';
let cluster: TestCluster;
let agent: RunningAgent | undefined;

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
});

after(async () => {
  await agent?.stop();
  await cluster.stop();
});

function appendLines(path: string, from: number, count: number): string[] {
  const lines = Array.from({ length: count }, (_, i) => `failover-${String(from + i).padStart(6, '0')} order shipped`);
  appendFileSync(path, `${lines.join('\n')}\n`);
  return lines;
}

test('an agent with two node URLs whose node is killed keeps delivering through the other: every line stored once on every node', async () => {
  const [a, b] = [cluster.node('a'), cluster.node('b')];
  const root = tempDataDir('meshlog-agent-failover-');
  mkdirSync(join(root, 'logs'));
  const path = join(root, 'logs', 'app.log');
  const written: string[] = [];
  agent = await startAgent({
    servers: [a.meshlog.url, b.meshlog.url],
    token: a.meshlog.token,
    tenant: 'failover',
    data_dir: join(root, 'agent-data'),
    poll_interval_ms: 50,
    files: [{ paths: [join(root, 'logs', '*.log')], labels: { 'service.name': 'failover-agent' } }],
    batch: { max_wait_ms: 50, max_records: 100 },
    delivery: { max_in_flight: 4, retry_initial_ms: 50, retry_max_ms: 1_000, request_timeout_ms: 5_000 },
  });
  const acked = async () => (await agent!.sources()).find((source) => source.path === path)?.lines_acked ?? 0;
  written.push(...appendLines(path, 0, 2_000));
  await waitUntil('the agent to deliver lines through A', async () => (await acked()) >= 500, 180_000);
  // Killed while the agent sends to it: some batches are in flight, some may be in the stream without an answer.
  await a.meshlog.kill();
  for (let chunk = 0; chunk < 4; chunk++) written.push(...appendLines(path, written.length, 500));
  await waitUntil(
    'every line acknowledged',
    async () => (await agent!.sources()).some((source) => source.path === path && source.acked_offset === statSync(path).size),
    180_000,
  );
  assert.ok((await agent.metric('meshlog_agent_server_failovers_total')) >= 1, 'the agent moved on to B');
  assert.equal(await agent.metric('meshlog_agent_batches_refused_total'), 0);
  await agent.stop();
  agent = undefined;

  await caughtUp(cluster.observer, 'b', stream);
  await a.restart();
  await caughtUp(cluster.observer, 'a', stream);
  await Promise.all([a.meshlog.stop(), b.meshlog.stop()]);
  for (const node of [a, b]) {
    const counts = await storedCounts(node.meshlog.dataDir, 'failover-agent');
    for (const line of written) assert.equal(counts.get(line), 1, `${line} stored ${counts.get(line) ?? 0} times on ${node.id}`);
    assert.equal(counts.size, written.length, `nothing but the written lines on ${node.id}`);
  }
  await a.restart();
  await b.restart();
});
