import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { pino } from 'pino';
import { KeyRing, KeyShreddedError, newDataKey, type KeyRingEntry } from '../../src/archive/keyRing.js';
import { MasterKey, masterKeyEnvironmentVariable } from '../../src/archive/masterKey.js';
import { SharedKeyRing } from '../../src/archive/sharedKeyRing.js';
import { clusterSection } from '../../src/cluster/clusterConfig.js';
import { replicatedArchiveKeys } from '../../src/cluster/replicatedArchiveKeys.js';
import { bucketKey } from '../../src/cluster/replicatedState.js';
import { tempDataDir } from '../support/meshlogProcess.js';
import { startNatsCluster, type NatsCluster } from '../support/natsCluster.js';
import { waitFor } from '../support/waitFor.js';

// The shared archive key ring on a real 3-server JetStream cluster, one NATS connection and one key ring directory per "node".
let nats: NatsCluster;
const connections: NatsConnection[] = [];
const clusterMaster = randomBytes(32).toString('hex');
const masterOf = (hex: string) => MasterKey.load({ file: 'unused', create: false, env: { [masterKeyEnvironmentVariable]: hex } });

interface TestNode {
  ring: SharedKeyRing;
  local: KeyRing;
  /** The error lines it logged. */
  errors: string[];
}

async function node(options: { master?: string; dir?: string } = {}): Promise<TestNode> {
  const connection = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  connections.push(connection);
  const errors: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
  const bucket = await replicatedArchiveKeys(connection, clusterSection.parse({ enabled: true, nats: { servers: nats.urls } }), logger);
  const master = masterOf(options.master ?? clusterMaster);
  const local = new KeyRing(options.dir ?? join(tempDataDir('meshlog-ring-'), 'keys'), () => master);
  const ring = new SharedKeyRing(local, bucket, `n${connections.length}`, logger);
  await ring.start();
  return { ring, local, errors };
}

/** The attacker: a connection of its own, writing straight into the bucket. */
async function bucketWrite(name: string, text: string): Promise<void> {
  const kv = await new Kvm(connections[0]).open('meshlog_archive_keys');
  await kv.put(bucketKey(name), text);
}

before(async () => {
  nats = await startNatsCluster(3);
});

after(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
  await nats.stop();
});

test('twenty rounds of three nodes creating the same period’s key at once: all use one key, which every node’s directory holds', async () => {
  const nodes = await Promise.all([node(), node(), node()]);
  for (let round = 0; round < 20; round++) {
    const tenant = `race${round}`;
    const keys = await Promise.all(nodes.map(({ ring }) => ring.dataKey(tenant, '2026-01', 'admin')));
    assert.ok(
      keys.every(({ key, keyId }) => key.equals(keys[0].key) && keyId === `${tenant}/2026-01`),
      `round ${round}: ${keys.map(({ key }) => key.toString('hex').slice(0, 8))}`,
    );
    for (const { local } of nodes) assert.ok(local.open(`${tenant}/2026-01`).equals(keys[0].key));
  }
});

test('a node started on an empty directory gets the ring; a key shredded on one node is shredded in every node’s directory', async () => {
  const first = await node();
  const { key } = await first.ring.dataKey('acme', '2026-02', 'admin');
  const fresh = await node();
  assert.ok(fresh.local.open('acme/2026-02').equals(key), 'copied at start');

  await fresh.ring.shred('acme', '2026-02', 'dpo', 'contract ended');
  await waitFor(() => first.local.entry('acme', '2026-02')?.shredded ?? false, {
    what: 'the shredding to reach the first node’s directory',
  });
  assert.equal(first.local.entry('acme', '2026-02')!.wrapped, null);
  assert.throws(() => first.local.open('acme/2026-02'), KeyShreddedError);
  await assert.rejects(first.ring.dataKey('acme', '2026-02', 'admin'), KeyShreddedError);
  assert.equal((await first.ring.list()).find((entry) => entry.key_id === 'acme/2026-02')?.shredded?.by, 'dpo');
});

test('keys a node created on its own before it joined are offered to the cluster at start', async () => {
  const dir = join(tempDataDir('meshlog-ring-'), 'keys');
  const before = new KeyRing(dir, () => masterOf(clusterMaster)).dataKey('solo', '2025-12', 'admin');
  await node({ dir });
  const other = await node();
  assert.ok((await other.ring.dataKey('solo', '2025-12', 'admin')).key.equals(before.key));
});

test('attack: garbage, a key wrapped under another master key, and another period’s wrapped key written into the bucket are refused, and nothing decrypts with them', async () => {
  const victim = await node();
  const { key } = await victim.ring.dataKey('acme', '2026-03', 'admin');
  const genuine = JSON.parse(readFileSync(join(victim.local.dir, 'acme@2026-03.json'), 'utf8')) as KeyRingEntry;

  const attackerKnows = newDataKey(masterOf(randomBytes(32).toString('hex')), 'acme', '2026-04', 'attacker').entry;
  const forged: Record<string, string> = {
    garbage: 'not json {',
    'not an entry': JSON.stringify({ hello: 'world' }),
    // The attacker's own key, under the cluster's (public) master key id: it does not unwrap.
    'wrapped under another master key': JSON.stringify({ ...attackerKnows, master_key_id: masterOf(clusterMaster).id }),
    // A genuine wrapped key moved to another period: AES-GCM binds it to its key id.
    'another period’s wrapped key': JSON.stringify({ ...genuine, key_id: 'acme/2026-04', period: '2026-04' }),
  };
  for (const [what, text] of Object.entries(forged)) {
    await bucketWrite('key/acme/2026-04', text);
    await assert.rejects(
      victim.ring.dataKey('acme', '2026-04', 'admin'),
      /archive key ring entry acme\/2026-04 is refused: .*nothing is encrypted or decrypted with it/,
      what,
    );
    assert.equal(victim.local.entry('acme', '2026-04'), undefined, `${what}: not copied into the directory`);
    assert.ok(!(await victim.ring.list()).some((entry) => entry.key_id === 'acme/2026-04'), `${what}: not listed`);
  }

  // Garbage over a key the node holds: its own copy is kept, and still opens its archives.
  await bucketWrite('key/acme/2026-03', 'garbage');
  await assert.rejects(victim.ring.entry('acme', '2026-03'), /acme\/2026-03 is refused/);
  assert.ok(victim.local.open('acme/2026-03').equals(key));
  await waitFor(() => victim.errors.some((line) => line.includes('key/acme/2026-03')), { what: 'the refusal in the log' });
});

test('attack: a shredded key written back into the bucket (a saved copy of its wrapped key) is refused by a node that saw the shredding', async () => {
  const keeper = await node();
  await keeper.ring.dataKey('globex', '2026-05', 'admin');
  const saved = readFileSync(join(keeper.local.dir, 'globex@2026-05.json'), 'utf8');
  await keeper.ring.shred('globex', '2026-05', 'dpo', 'erasure');
  await bucketWrite('key/globex/2026-05', saved);
  await assert.rejects(keeper.ring.dataKey('globex', '2026-05', 'admin'), /was shredded here .*a live copy of it is refused/);
  assert.throws(() => keeper.local.open('globex/2026-05'), KeyShreddedError);
});

test('a node given another master key refuses the ring with a clear error, copies none of it, and never starts a second ring', async () => {
  const member = await node();
  await member.ring.dataKey('initech', '2026-06', 'admin');
  const namesBefore = [...(await member.ring.list()).map((entry) => entry.key_id)].sort();

  const dir = join(tempDataDir('meshlog-ring-'), 'keys');
  const stranger = await node({ master: randomBytes(32).toString('hex'), dir });
  assert.ok(stranger.errors.some((line) => /not the one the cluster's archive key ring is wrapped under/.test(line)));
  assert.ok(!existsSync(dir) || stranger.local.list().length === 0, 'nothing copied');
  for (const attempt of [
    () => stranger.ring.dataKey('initech', '2026-06', 'admin'),
    () => stranger.ring.dataKey('newco', '2026-06', 'admin'),
  ])
    await assert.rejects(
      attempt(),
      /this node's archive master key \(id \w+, from MESHLOG_ARCHIVE_MASTER_KEY\) is not the one .* creates none/,
    );
  assert.deepEqual([...(await member.ring.list()).map((entry) => entry.key_id)].sort(), namesBefore, 'no key added to the ring');
});
