import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { lokiCall } from '../../support/lokiCall.js';
import { startMeshlog } from '../../support/meshlogProcess.js';
import { clusterConfigFile, pushLokiLines, startClusterNode, type ClusterNode } from '../../support/clusterNodes.js';
import { caughtUp } from '../../support/meshlogCluster.js';
import { startNatsCluster, type NatsCluster } from '../../support/natsCluster.js';
import { waitFor } from '../../support/waitFor.js';

// `meshlog start --role gateway` and `--role writer` on 3 nats-server on loopback.
const stream = 'MESHLOG_RECORDS';
const tenant = 'roles';
let nats: NatsCluster;
let observer: NatsConnection;
const nodes: Record<'gateway' | 'writer', ClusterNode> = {} as never;

before(async () => {
  nats = await startNatsCluster(3);
  observer = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  nodes.gateway = await startClusterNode('gateway', clusterConfigFile('gateway', nats.urls), undefined, ['--role', 'gateway']);
  nodes.writer = await startClusterNode('writer', clusterConfigFile('writer', nats.urls), undefined, ['--role', 'writer']);
});

after(async () => {
  await Promise.all(Object.values(nodes).map((node) => node.meshlog.stop()));
  await observer.close();
  await nats.stop();
});

async function linesOf(node: ClusterNode): Promise<string[]> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const answer = await lokiCall(node.meshlog, tenant, '/loki/api/v1/query_range', {
    query: '{service_name="roles"}',
    start: String(nowNs - 3_600_000_000_000n),
    end: String(nowNs + 60_000_000_000n),
    limit: '1000',
  });
  assert.equal(answer.status, 200, answer.text);
  return (answer.body.data.result as { values: [string, string][] }[]).flatMap((series) => series.values.map(([, line]) => line));
}

async function readyStatus(node: ClusterNode): Promise<number> {
  const response = await fetch(`${node.meshlog.url}/ready`);
  await response.arrayBuffer();
  return response.status;
}

test('a record pushed to a gateway is committed by a writer; the gateway holds no consumer, the writer opens no receiver listener', async () => {
  assert.equal(await pushLokiLines(nodes.gateway.meshlog, tenant, 'roles', ['through the gateway']), 204);
  await waitFor(async () => (await linesOf(nodes.writer)).includes('through the gateway'), { what: 'the writer to commit the record' });
  await caughtUp(observer, 'writer', stream);
  // The gateway stores none of the stream.
  assert.deepEqual(await linesOf(nodes.gateway), []);
  const manager = await jetstreamManager(observer);
  assert.deepEqual(
    (await manager.consumers.list(stream).next()).map((info) => info.name),
    ['meshlog-writer'],
  );
  assert.deepEqual(nodes.writer.meshlog.listeners, {}, 'no syslog, forward or OTLP/gRPC listener on a writer');
  assert.ok(Object.keys(nodes.gateway.meshlog.listeners).length > 0, 'the gateway listens for every protocol');
  assert.equal(await readyStatus(nodes.gateway), 200);
  assert.equal(await readyStatus(nodes.writer), 200);
});

test('a gateway stays ready and acknowledging while the writer is down; the writer commits what it missed once back', async () => {
  await nodes.writer.meshlog.stop();
  assert.equal(await pushLokiLines(nodes.gateway.meshlog, tenant, 'roles', ['while the writer is down']), 204);
  assert.equal(await readyStatus(nodes.gateway), 200);
  nodes.writer = await startClusterNode('writer', nodes.writer.config, nodes.writer.dataDir, ['--role', 'writer']);
  await waitFor(async () => (await linesOf(nodes.writer)).includes('while the writer is down'), {
    what: 'the writer to commit what the gateway acknowledged while it was down',
  });
});

test('a role other than all without cluster.enabled is refused at start, naming the setting', async () => {
  await assert.rejects(startMeshlog({ args: ['--role', 'gateway'] }), /exited with 2[\s\S]*role other than all needs cluster\.enabled/);
});
