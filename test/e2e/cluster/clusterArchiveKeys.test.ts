import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import type { ArchiveManifest } from '../../../src/archive/archiveManifest.js';
import { defaultKeyRingDir, newDataKey } from '../../../src/archive/keyRing.js';
import { MasterKey, masterKeyEnvironmentVariable } from '../../../src/archive/masterKey.js';
import { bucketKey } from '../../../src/cluster/replicatedState.js';
import { caughtUp, startClusterNode, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { apiCall } from '../../support/apiCall.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes and meshlog nodes (embedded stores, each a full copy) sharing one archive master key file.
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const secrets = tempDataDir('meshlog-archive-master-');
const masterFile = join(secrets, 'master.key');
writeFileSync(masterFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
const withMaster = (file: string) => `archive:\n  master_key_file: ${file}\n`;

const monthStart = new Date(new Date().toISOString().slice(0, 7) + '-01T00:00:00Z');
const period = monthStart.toISOString().slice(0, 7);
// Last month: a period no key exists for yet, whose key is "rotated in" by the first export that needs it.
const lastMonthDay = new Date(monthStart.getTime() - 2 * 86_400_000);
const lastPeriod = lastMonthDay.toISOString().slice(0, 7);

let cluster: TestCluster;
let a: ClusterNode;
let b: ClusterNode;

before(async () => {
  cluster = await startTestCluster([
    { id: 'a', config: withMaster(masterFile) },
    { id: 'b', config: withMaster(masterFile) },
  ]);
  [a, b] = cluster.nodes;
  for (const [bodies, extra] of [
    [['order 1 paid', 'order 2 paid', 'order 3 refunded'], {}],
    [['november order 1', 'november order 2'], { timeUnixNano: String(BigInt(lastMonthDay.getTime()) * 1_000_000n) }],
  ] as const) {
    const pushed = await postOtlpJson(a.meshlog.url, a.meshlog.token, otlpJsonRequest('checkout', [...bodies], extra), {
      'x-scope-orgid': 'acme',
    });
    assert.equal(pushed.status, 200, await pushed.text());
    // Committed before the next push: each month's records in batches of their own (an archive takes whole batches).
    await caughtUp(cluster.observer, 'a');
    await caughtUp(cluster.observer, 'b');
  }
});

after(async () => {
  await cluster?.stop();
});

function exportOn(node: RunningMeshlog, from: Date, to: Date): { dir: string; manifest: ArchiveManifest } {
  const dir = join(tempDataDir('meshlog-archive-'), 'acme');
  const exported = run([
    'archive',
    'export',
    '--tenant',
    'acme',
    '--from',
    from.toISOString(),
    '--to',
    to.toISOString(),
    '--out',
    dir,
    '--server',
    node.url,
    '--token',
    node.token,
  ]);
  assert.equal(exported.status, 0, exported.stdout + exported.stderr);
  return { dir, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ArchiveManifest };
}

/** The published key set as read from `node`, in a file (what `--public-key` takes). */
async function keySetFile(node: RunningMeshlog, keep: (key: string) => boolean = () => true): Promise<string> {
  const keys = ((await apiCall(node, 'GET', '/api/v1/integrity/public-keys')).body.keys as { verifierKey: string }[])
    .map((key) => key.verifierKey)
    .filter(keep);
  const file = join(tempDataDir('meshlog-keys-'), 'keys.pub');
  writeFileSync(file, `${keys.join('\n')}\n`);
  return file;
}

/** `meshlog archive verify` offline with a node's key ring directory and the master key file. */
function verifyWith(dir: string, ringOf: RunningMeshlog, keys: string) {
  const verified = run([
    'archive',
    'verify',
    dir,
    '--key-ring',
    defaultKeyRingDir(ringOf.dataDir),
    '--master-key',
    masterFile,
    '--public-key',
    keys,
    '--output',
    'json',
  ]);
  return {
    status: verified.status,
    report: verified.stdout ? JSON.parse(verified.stdout) : undefined,
    output: verified.stdout + verified.stderr,
  };
}

const ownKey = async (node: RunningMeshlog) => (await apiCall(node, 'GET', '/api/v1/integrity/public-key')).body.verifierKey as string;

test('an archive exported through node A verifies and decrypts with node B’s key ring and key set; without A’s key it is refused', async () => {
  const keyOfA = await ownKey(a.meshlog);
  await waitFor(async () => (await apiCall(b.meshlog, 'GET', '/api/v1/integrity/public-keys')).body.keys.length === 2, {
    what: 'B to hold both nodes’ keys',
    timeoutMs: 60_000,
  });
  const { dir, manifest } = exportOn(
    a.meshlog,
    new Date(Date.now() - 3600_000 < monthStart.getTime() ? monthStart : Date.now() - 3600_000),
    new Date(),
  );
  assert.equal(manifest.encryption.key_id, `acme/${period}`);
  assert.equal(manifest.verifier_key, keyOfA);

  const onB = verifyWith(dir, b.meshlog, await keySetFile(b.meshlog));
  assert.equal(onB.status, 0, onB.output);
  assert.equal(onB.report.records, 3);
  assert.equal(onB.report.decrypted, true);

  const withoutA = verifyWith(dir, b.meshlog, await keySetFile(b.meshlog, (key) => key !== keyOfA));
  assert.equal(withoutA.status, 1, withoutA.output);
  assert.ok(
    withoutA.report.findings.some(
      (finding: { kind: string; detail: string }) =>
        finding.kind === 'manifest_signature_invalid' && /none of the 1 accepted keys/.test(finding.detail),
    ),
    withoutA.output,
  );
  assert.ok(
    withoutA.report.findings.some((finding: { kind: string }) => finding.kind === 'checkpoint_forged'),
    withoutA.output,
  );
});

test('a node started on an empty data directory gets the ring; a key rotated in on B is used by C and decrypts with A’s ring', async () => {
  const c = await startClusterNode(cluster.nats, 'c', { config: withMaster(masterFile) });
  cluster.nodes.push(c);
  const ringOfC = defaultKeyRingDir(c.meshlog.dataDir);
  assert.ok(
    existsSync(join(ringOfC, `acme@${period}.json`)),
    `C holds this month's key at start: ${existsSync(ringOfC) ? readdirSync(ringOfC) : 'no ring'}`,
  );
  await caughtUp(cluster.observer, 'c');

  const monthEnd = new Date(monthStart.getTime() - 1);
  const onB = exportOn(b.meshlog, lastMonthDay, monthEnd);
  assert.equal(onB.manifest.encryption.key_id, `acme/${lastPeriod}`);
  assert.equal(onB.manifest.payload.records, 2);
  const onC = exportOn(c.meshlog, lastMonthDay, monthEnd);
  assert.equal(onC.manifest.encryption.key_id, `acme/${lastPeriod}`);
  // C committed the stream as one catch-up batch: its archive of last month carries that whole batch, this month's records too.
  assert.ok(onC.manifest.payload.records >= 2, String(onC.manifest.payload.records));

  await waitFor(() => existsSync(join(defaultKeyRingDir(a.meshlog.dataDir), `acme@${lastPeriod}.json`)), {
    what: 'A to copy the key B created',
    timeoutMs: 60_000,
  });
  const keys = await keySetFile(a.meshlog);
  for (const archive of [onB, onC]) {
    const onA = verifyWith(archive.dir, a.meshlog, keys);
    assert.equal(onA.status, 0, onA.output);
    assert.equal(onA.report.records, archive.manifest.payload.records);
  }
  // One key for the period, however many nodes exported it.
  const listed = (await apiCall(a.meshlog, 'GET', '/api/v1/admin/archive-keys')).body.keys as { key_id: string; created_by: string }[];
  assert.deepEqual(listed.map((key) => key.key_id).sort(), [`acme/${lastPeriod}`, `acme/${period}`].sort());
});

test('attack: a data key the attacker knows, planted in the bucket for a new period, is refused: no archive is encrypted with it', async () => {
  const attacker = MasterKey.load({
    file: 'unused',
    create: false,
    env: { [masterKeyEnvironmentVariable]: randomBytes(32).toString('hex') },
  });
  const { entry } = newDataKey(attacker, 'globex', period, 'attacker');
  const clusterMasterId = MasterKey.load({ file: masterFile, create: false, env: {} }).id;
  const kv = await new Kvm(cluster.observer).open('meshlog_archive_keys');
  await kv.put(bucketKey(`key/globex/${period}`), JSON.stringify({ ...entry, master_key_id: clusterMasterId }));

  const response = await fetch(`${b.meshlog.url}/api/v1/admin/archives/export`, {
    method: 'POST',
    headers: { authorization: `Bearer ${b.meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'globex', from: monthStart.toISOString(), to: new Date().toISOString() }),
  });
  const text = await response.text();
  assert.ok(response.status === 409 || /"type":"error"/.test(text), text);
  assert.match(text, /archive key ring entry globex\/\d{4}-\d{2} is refused: .*does not unwrap/);
  assert.doesNotMatch(text, /"type":"payload"/, 'nothing was encrypted');
  assert.ok(!existsSync(join(defaultKeyRingDir(b.meshlog.dataDir), `globex@${period}.json`)), 'not copied into B’s ring');
});

test('a node given another master key refuses the ring with a clear error, holds none of it and adds no key to it', async () => {
  const otherMaster = join(tempDataDir('meshlog-archive-master-'), 'other.key');
  writeFileSync(otherMaster, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const x = await startClusterNode(cluster.nats, 'x', { config: withMaster(otherMaster) });
  cluster.nodes.push(x);
  const kv = await new Kvm(cluster.observer).open('meshlog_archive_keys');
  const keysBefore: string[] = [];
  for await (const key of await kv.keys()) keysBefore.push(key);

  const exported = run([
    'archive',
    'export',
    '--tenant',
    'acme',
    '--from',
    monthStart.toISOString(),
    '--out',
    join(tempDataDir('meshlog-archive-'), 'x'),
    '--server',
    x.meshlog.url,
    '--token',
    x.meshlog.token,
  ]);
  assert.notEqual(exported.status, 0);
  assert.match(
    exported.stderr,
    /this node's archive master key \(id \w+, from .*other\.key\) is not the one the cluster's archive key ring is wrapped under/,
  );
  const ring = defaultKeyRingDir(x.meshlog.dataDir);
  assert.ok(!existsSync(ring) || readdirSync(ring).length === 0, 'nothing of the ring copied');
  const keysAfter: string[] = [];
  for await (const key of await kv.keys()) keysAfter.push(key);
  assert.deepEqual(keysAfter.sort(), keysBefore.sort(), 'no key added');
});
