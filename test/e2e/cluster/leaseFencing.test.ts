import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { pino } from 'pino';
import { clusterSection } from '../../../src/cluster/clusterConfig.js';
import { Leases } from '../../../src/cluster/leases.js';
import { replicatedLedger } from '../../../src/cluster/replicatedLedger.js';
import { oneNodeActs } from '../../../src/cluster/sharedJobs.js';
import { startNatsCluster, type NatsCluster } from '../../support/natsCluster.js';
import { waitFor } from '../../support/waitFor.js';

// Leases on a real 3-server JetStream cluster, one NATS connection per "node" as meshlog nodes have.
let nats: NatsCluster;
const connections: NatsConnection[] = [];
const logger = pino({ level: 'silent' });

async function node(id: string, ttlMs: number): Promise<Leases> {
  const connection = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  connections.push(connection);
  const config = clusterSection.parse({ enabled: true, nats: { servers: nats.urls }, leases: { ttl_ms: ttlMs } });
  return Leases.open(connection, config, id, logger);
}

before(async () => {
  nats = await startNatsCluster(3);
});

after(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
  await nats.stop();
});

// First: it replaces the lease buckets with ones an older meshlog made.
test('buckets an older meshlog made with reads from any replica are switched to leader reads at start, keeping what they hold', async () => {
  const connection = await connect({ servers: nats.urls });
  connections.push(connection);
  const manager = await jetstreamManager(connection);
  const older = new Kvm(connection);
  const leaseBucket = await older.create('meshlog_leases', { replicas: 3, history: 1, allow_direct: true });
  await leaseBucket.put('held-across-upgrade', JSON.stringify({ node: 'old', expires_at: Date.now() + 3_600_000 }));
  const states = await older.create('meshlog_lease_state', { replicas: 3, history: 1, allow_direct: true });
  await states.put('held-across-upgrade', JSON.stringify({ firing: ['x'] }));
  const ledgers = await older.create('meshlog_deletion_ledgers', { replicas: 3, history: 1, allow_direct: true });
  await ledgers.put('old.1', 'line one');
  await ledgers.put('old.2', 'line two');
  for (const bucket of ['KV_meshlog_leases', 'KV_meshlog_lease_state', 'KV_meshlog_deletion_ledgers'])
    assert.equal((await manager.streams.info(bucket)).config.allow_direct, true, `${bucket} as the older meshlog made it`);

  const upgraded = await node('new', 3_600_000);
  const config = clusterSection.parse({ enabled: true, nats: { servers: nats.urls } });
  const ledger = await replicatedLedger(connection, config, 'old', logger);
  for (const bucket of ['KV_meshlog_leases', 'KV_meshlog_lease_state', 'KV_meshlog_deletion_ledgers'])
    assert.equal((await manager.streams.info(bucket)).config.allow_direct, false, `${bucket} reads from its leader`);
  assert.equal(await upgraded.acquire('held-across-upgrade'), undefined, 'the lease held before the upgrade is still held');
  assert.deepEqual(await upgraded.stateOf('held-across-upgrade'), { firing: ['x'] });
  assert.deepEqual(await ledger.lines(), ['line one', 'line two']);
});

test('lease reads are answered by the stream leader, never by a replica (direct get)', async () => {
  const watcher = await connect({ servers: nats.urls });
  connections.push(watcher);
  const direct: string[] = [];
  const leader: string[] = [];
  const count = (subject: string, into: string[]) => {
    const subscription = watcher.subscribe(subject);
    void (async () => {
      for await (const request of subscription) into.push(request.subject);
    })();
  };
  count('$JS.API.DIRECT.GET.KV_meshlog_leases', direct);
  count('$JS.API.DIRECT.GET.KV_meshlog_leases.>', direct);
  count('$JS.API.DIRECT.GET.KV_meshlog_lease_state', direct);
  count('$JS.API.DIRECT.GET.KV_meshlog_lease_state.>', direct);
  count('$JS.API.STREAM.MSG.GET.KV_meshlog_leases', leader);
  count('$JS.API.STREAM.MSG.GET.KV_meshlog_lease_state', leader);
  await watcher.flush();
  const [a, b] = [await node('a', 60_000), await node('b', 60_000)];
  const turn = await a.acquire('read-where');
  assert.ok(turn);
  await a.keep('read-where', turn.token, { by: 'a' });
  assert.equal(await b.acquire('read-where'), undefined);
  assert.deepEqual(await b.stateOf('read-where'), { by: 'a' });
  // Three reads (A's and B's lease, B's state): each request reaches the watcher through the NATS cluster.
  await waitFor(() => direct.length + leader.length >= 3, { what: 'the three reads to be seen' });
  assert.deepEqual(direct, [], 'no read went to a replica');
});

test('a node whose lease expired (stale fencing token) does not act, and leaves no state', async () => {
  const [a, b] = [await node('a', 1000), await node('b', 1000)];
  const turn = await a.acquire('stale');
  assert.ok(turn?.takenOver);
  assert.equal(await b.acquire('stale'), undefined, 'held by A, the lease is not B’s');
  // A stops renewing (paused, cut off): the bucket lets the lease expire and B takes it.
  const taken = await waitFor(() => b.acquire('stale'), { what: 'B to take the lease A let lapse', intervalMs: 100 });
  assert.ok(taken.takenOver);
  assert.notEqual(taken.token, turn.token);
  await b.keep('stale', taken.token, { by: 'b' });

  // A wakes up with its old token: every fenced step refuses it.
  assert.equal(await a.keep('stale', turn.token, { by: 'a' }), undefined);
  assert.equal(await a.renew('stale', turn.token), undefined);
  let acted = false;
  assert.equal(
    await a.runOnce('stale', async () => {
      acted = true;
    }),
    false,
  );
  assert.equal(acted, false);
  assert.deepEqual(await a.stateOf('stale'), { by: 'b' });
  // B still holds it, at the token it renewed to.
  assert.equal((await b.acquire('stale'))?.takenOver, false);
});

test('a run-once job started on three nodes at once runs on exactly one', async () => {
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => node(id, 30_000)));
  let runs = 0;
  const ran = await Promise.all(nodes.map((leases) => leases.runOnce('job.report', async () => void runs++)));
  assert.equal(runs, 1);
  assert.equal(ran.filter(Boolean).length, 1);
});

test('three nodes starting together run the schema migrations one at a time, each once', async () => {
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => node(id, 30_000)));
  let active = 0;
  let mostAtOnce = 0;
  const done: string[] = [];
  await Promise.all(
    nodes.map((leases) =>
      leases.exclusive('job.schema-migrations', async () => {
        active++;
        mostAtOnce = Math.max(mostAtOnce, active);
        // A migration takes a while: long enough for the others to try.
        await sleep(200);
        active--;
        done.push(leases.nodeId);
      }),
    ),
  );
  assert.equal(mostAtOnce, 1);
  assert.deepEqual([...done].sort(), ['a', 'b', 'c']);
});

test('a lease released by a stopping node is taken by another at once, not after its time to live', async () => {
  const [a, b] = [await node('a', 3_600_000), await node('b', 3_600_000)];
  assert.ok(await a.acquire('released'));
  assert.equal(await b.acquire('released'), undefined);
  await a.releaseAll();
  assert.ok((await b.acquire('released'))?.takenOver);
});

test('a node restarted with the same node id takes back its own lease at once', async () => {
  const before = await node('r', 3_600_000);
  assert.ok(await before.acquire('mine'));
  const restarted = await node('r', 3_600_000);
  assert.ok((await restarted.acquire('mine'))?.takenOver);
  assert.equal(await (await node('other', 3_600_000)).acquire('mine'), undefined);
});

test('three nodes taking the same free lease at the same moment: exactly one gets it, every round', async () => {
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => node(id, 60_000)));
  for (let round = 0; round < 20; round++) {
    // Round 0 takes a lease never written; later rounds the one the last winner released (read from the
    // stream leader, which has applied the release: a replica answering might not have, and nobody would win).
    const turns = await Promise.all(nodes.map((leases) => leases.acquire('contended')));
    assert.equal(turns.filter(Boolean).length, 1, `round ${round}: ${turns.filter(Boolean).length} nodes got the lease`);
    for (const leases of nodes) await leases.releaseAll();
  }
});

test('what three nodes compute alike from the whole stream (an anomaly) is sent by one node only', async () => {
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => node(id, 60_000)));
  const sent: string[] = [];
  const notifiers = nodes.map((leases) =>
    oneNodeActs(leases, 'anomaly-detectors', (alert: string) => sent.push(`${leases.nodeId}:${alert}`)),
  );
  await Promise.all(notifiers.map((notify) => notify('firing')));
  await Promise.all(notifiers.map((notify) => notify('resolved')));
  assert.equal(sent.length, 2, sent.join());
  const [firing, resolved] = sent.map((entry) => entry.split(':'));
  assert.deepEqual([firing[1], resolved[1]], ['firing', 'resolved']);
  assert.equal(firing[0], resolved[0], 'the node that sent the firing sends the resolution');
});

test('one anomaly notification that throws does not stop the lease holder sending the next ones', async () => {
  const leases = await node('thrower', 60_000);
  const sent: string[] = [];
  const notify = oneNodeActs(leases, 'anomaly-detectors-throwing', (alert: string) => {
    if (alert === 'broken') throw new Error('receiver blew up');
    sent.push(alert);
  });
  await Promise.all(['first', 'broken', 'after'].map((alert) => notify(alert)));
  assert.deepEqual(sent, ['first', 'after']);
});
