import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { clusterSection } from '../../../src/cluster/clusterConfig.js';
import { Leases } from '../../../src/cluster/leases.js';
import { startNatsCluster, type NatsCluster } from '../../support/natsCluster.js';
import { waitFor } from '../../support/waitFor.js';

let nats: NatsCluster | undefined;
let connection: NatsConnection | undefined;

after(async () => {
  await connection?.close();
  await nats?.stop();
});

test('a node opening its lease buckets while JetStream has no quorum keeps asking, and opens them once the servers are back', async () => {
  nats = await startNatsCluster(3);
  // Two of three servers down: no JetStream meta leader, every bucket creation goes unanswered.
  await nats.nodes[1].kill();
  await nats.nodes[2].kill();
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  connection = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  const config = clusterSection.parse({ enabled: true, nats: { servers: nats.urls } });
  const opening = Leases.open(connection, config, 'a', logger);
  let failed: unknown;
  opening.catch((error: unknown) => (failed = error));

  await waitFor(() => failed ?? warnings.some((line) => line.includes('"step":"meshlog_leases"')), {
    what: 'the first unanswered creation of the lease bucket',
  });
  assert.equal(failed, undefined, 'the first unanswered request must not fail the start');
  await nats.nodes[1].start();
  await nats.nodes[2].start();

  const leases = await opening;
  // Reads go to the stream's leader, which the servers back may still be electing: a read refused then is no lease, asked again.
  const turn = await waitFor(() => leases.acquire('after-start'), { what: 'a lease from the buckets opened', timeoutMs: 30_000 });
  assert.ok(turn.takenOver, 'the buckets opened work');
});
