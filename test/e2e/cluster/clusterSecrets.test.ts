import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { clusterSection } from '../../../src/cluster/clusterConfig.js';
import { ClusterSecrets } from '../../../src/cluster/clusterSecrets.js';
import { startNatsCluster, type NatsCluster } from '../../support/natsCluster.js';

// Cluster secrets on a real 3-server JetStream cluster, one NATS connection per "node" as meshlog nodes have.
let nats: NatsCluster;
const connections: NatsConnection[] = [];
const logger = pino({ level: 'silent' });

async function node(): Promise<ClusterSecrets> {
  const connection = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  connections.push(connection);
  return ClusterSecrets.open(connection, clusterSection.parse({ enabled: true, nats: { servers: nats.urls } }), logger);
}

before(async () => {
  nats = await startNatsCluster(3);
});

after(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
  await nats.stop();
});

test('twenty rounds of three nodes proposing a new secret at once: every node ends with the same one, one of the proposals', async () => {
  const nodes = await Promise.all([node(), node(), node()]);
  for (let round = 0; round < 20; round++) {
    const proposals = nodes.map(() => randomBytes(32));
    const agreed = await Promise.all(nodes.map((secrets, i) => secrets.agreed(`round-${round}`, proposals[i])));
    assert.ok(
      agreed.every((secret) => secret.equals(agreed[0])),
      `round ${round}: ${agreed.map((s) => s.toString('hex').slice(0, 8))}`,
    );
    assert.ok(proposals.some((proposal) => proposal.equals(agreed[0])));
  }
});

test('a secret once agreed is never replaced: a later node, or the same one proposing again, gets the first value', async () => {
  const first = await node();
  const kept = await first.agreed('kept', randomBytes(32));
  const later = await node();
  assert.deepEqual(await later.agreed('kept', randomBytes(32)), kept);
  assert.deepEqual(await first.agreed('kept', randomBytes(32)), kept);
});

test('a secret name that is not a plain bucket key (a wildcard, a subject separator) is refused', async () => {
  const secrets = await node();
  for (const name of ['>', '*', 'a.b', '', 'x'.repeat(65)]) assert.throws(() => secrets.agreed(name, randomBytes(32)), /not a secret name/);
});
