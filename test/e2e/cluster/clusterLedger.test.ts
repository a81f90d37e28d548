import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { apiCall } from '../../support/apiCall.js';
import { createKeyWithCli } from '../../support/cliKeys.js';
import { pushLokiLines } from '../../support/clusterNodes.js';
import { tempDataDir } from '../../support/meshlogProcess.js';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { waitFor } from '../../support/waitFor.js';

// Each node's deletion ledger replicated to the bucket meshlog_deletion_ledgers: 3 nats-server, meshlog nodes a and b.
let cluster: TestCluster;
let a: ClusterNode;
let b: ClusterNode;
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

const ledgerOf = (node: ClusterNode) => `${resolve(node.meshlog.dataDir)}-deletions.ndjson`;
const linesIn = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
  a = cluster.node('a');
  b = cluster.node('b');
  // Two erasures: two lines in each node's ledger (each node executes each request on its own copy).
  for (const subject of ['subject', 'other-subject']) {
    assert.equal(await pushLokiLines(a.meshlog, 'acme', subject, ['user 4711 did this']), 204);
    await caughtUp(cluster.observer, 'a');
    const now = Date.now();
    const filed = await apiCall(a.meshlog, 'POST', '/api/v1/admin/erasure-requests', {
      tenant: 'acme',
      selector: `{service_name="${subject}"}`,
      from: new Date(now - 3_600_000).toISOString(),
      to: new Date(now + 3_600_000).toISOString(),
      reason: 'data subject request',
    });
    assert.equal(filed.status, 201, JSON.stringify(filed.body));
    const executed = await apiCall(a.meshlog, 'POST', `/api/v1/admin/erasure-requests/${filed.body.request.id}/execute`);
    assert.equal(executed.status, 200, JSON.stringify(executed.body));
  }
});

after(async () => {
  await cluster?.stop();
});

/** A node's lines as the bucket holds them. */
async function replicatedLines(node = 'a'): Promise<Map<string, string>> {
  const bucket = await new Kvm(cluster.observer).open('meshlog_deletion_ledgers');
  const lines = new Map<string, string>();
  for await (const key of await bucket.keys(`${node}.>`)) lines.set(key, (await bucket.get(key))!.string());
  return lines;
}

/** `meshlog ledger fetch <node>` through node b, as an operator runs it: exit code and what it printed. */
async function fetchLedger(node: string, args: string[] = [], token = b.meshlog.token) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [cli, 'ledger', 'fetch', node, '--server', b.meshlog.url, ...args],
      { env: { ...process.env, MESHLOG_TOKEN: token } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

test('a node whose ledger file was lost gets it back from the cluster at its start', async () => {
  const path = ledgerOf(a);
  const written = linesIn(path);
  assert.ok(written.length >= 1, 'the erasure is in the ledger');
  await waitFor(async () => (await replicatedLines()).size === written.length, { what: "a's ledger lines in the bucket" });
  await a.meshlog.stop();
  rmSync(path);
  await a.restart();
  assert.deepEqual(linesIn(path), written);
});

test('meshlog ledger fetch: a node lost with its disk has its ledger fetched through another node, checked and written', async () => {
  const path = ledgerOf(a);
  const written = linesIn(path);
  assert.equal(written.length, 2);
  await waitFor(async () => (await replicatedLines()).size === written.length, { what: "a's ledger lines in the bucket" });
  await a.meshlog.stop();
  rmSync(path);
  const out = join(tempDataDir('meshlog-ledger-fetch-'), 'a-deletions.ndjson');
  const fetched = await fetchLedger('a', ['--out', out]);
  assert.equal(fetched.code, 0, fetched.stdout + fetched.stderr);
  assert.match(fetched.stdout, /node a: 2 ledger lines, chain intact, every line signed by /);
  assert.deepEqual(linesIn(out), written, 'written byte for byte, for meshlog restore --ledger');
  const audited = await apiCall(b.meshlog, 'GET', '/api/v1/audit?action=deletion_ledger.fetch');
  const events = (audited.body.events as { action: string; target: string; detail: string }[]).filter(
    (event) => event.action === 'deletion_ledger.fetch',
  );
  assert.deepEqual(
    events.map((event) => [event.target, JSON.parse(event.detail)]),
    [['a', { lines: 2, missing: 0, deleted: 0 }]],
    'the fetch is in the audit trail of the node that answered',
  );

  // A copy kept elsewhere with a line more than the cluster holds: the replicated ledger was cut short.
  const longer = join(tempDataDir('meshlog-ledger-fetch-'), 'kept.ndjson');
  writeFileSync(longer, [...written, written[1]].map((line) => `${line}\n`).join(''));
  const short = await fetchLedger('a', ['--against', longer]);
  assert.equal(short.code, 1);
  assert.match(short.stdout, /SHORT the cluster holds 2 lines, .* 3: the ledger was cut short/);
  await a.restart();
});

test('meshlog ledger fetch is refused to an admin of one tenant, an auditor, and a node id that is a wildcard', async () => {
  const oneTenant = await createKeyWithCli(b.meshlog, 'acme-admin', ['admin'], ['acme']);
  const auditor = await createKeyWithCli(b.meshlog, 'auditor', ['auditor'], ['*']);
  for (const token of [oneTenant, auditor]) {
    const refused = await fetchLedger('a', [], token);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /server answered 403/);
  }
  for (const node of ['>', 'a.*', 'a.>']) {
    const answer = await apiCall(b.meshlog, 'GET', `/api/v1/admin/cluster/deletion-ledgers/${encodeURIComponent(node)}`);
    assert.equal(answer.status, 400, node);
  }
});

test('a forged line in the bucket is refused: the lost ledger is not restored from it', async () => {
  const path = ledgerOf(a);
  const written = linesIn(path);
  await a.meshlog.stop();
  const bucket = await new Kvm(cluster.observer).open('meshlog_deletion_ledgers');
  // The entry changed, its signature kept: what an attacker with NATS credentials could write.
  const line = JSON.parse(written[0]) as { entry: { at: string } };
  line.entry.at = '2030-01-01T00:00:00.000Z';
  await bucket.put('a.1', JSON.stringify(line));
  rmSync(path);
  await a.restart();
  assert.deepEqual(linesIn(path), [], 'nothing taken from a replicated ledger that does not verify');
  await waitFor(async () => (await fetch(`${a.meshlog.url}/ready`)).status === 200, {
    what: 'a ready: the refusal does not stop the node',
  });
});

test('meshlog ledger fetch refuses a forged ledger and one cut short in the bucket, and writes nothing', async () => {
  // a.1 was forged by the test before.
  const out = join(tempDataDir('meshlog-ledger-fetch-'), 'forged.ndjson');
  const forged = await fetchLedger('a', ['--out', out]);
  assert.equal(forged.code, 1);
  assert.match(forged.stdout, /FORGED node a's replicated ledger line 1: the signature does not verify/);
  assert.match(forged.stdout, /nothing written/);
  assert.equal(existsSync(out), false);

  // b's last line deleted from the bucket (what anyone with NATS credentials could do): cut short, named.
  await waitFor(async () => (await replicatedLines('b')).size === 2 && linesIn(ledgerOf(b)).length === 2, {
    what: "b's two ledger lines in its file and the bucket",
  });
  const bucket = await new Kvm(cluster.observer).open('meshlog_deletion_ledgers');
  await bucket.delete('b.2');
  const cut = await fetchLedger('b', ['--out', out]);
  assert.equal(cut.code, 1);
  assert.match(cut.stdout, /DELETED line 2: deleted from the bucket \(the markers remain\): the ledger was cut short/);
  assert.equal(existsSync(out), false);
});
