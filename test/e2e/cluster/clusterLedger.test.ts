import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { apiCall } from '../../support/apiCall.js';
import { pushLokiLines } from '../../support/clusterNodes.js';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { waitFor } from '../../support/waitFor.js';

// Each node's deletion ledger replicated to the bucket meshlog_deletion_ledgers: 3 nats-server, meshlog nodes a and b.
let cluster: TestCluster;
let a: ClusterNode;

const ledgerOf = (node: ClusterNode) => `${resolve(node.meshlog.dataDir)}-deletions.ndjson`;
const linesIn = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

before(async () => {
  cluster = await startTestCluster([{ id: 'a' }, { id: 'b' }]);
  a = cluster.node('a');
  assert.equal(await pushLokiLines(a.meshlog, 'acme', 'subject', ['user 4711 did this']), 204);
  await caughtUp(cluster.observer, 'a');
  const now = Date.now();
  const filed = await apiCall(a.meshlog, 'POST', '/api/v1/admin/erasure-requests', {
    tenant: 'acme',
    selector: '{service_name="subject"}',
    from: new Date(now - 3_600_000).toISOString(),
    to: new Date(now + 3_600_000).toISOString(),
    reason: 'data subject request',
  });
  assert.equal(filed.status, 201, JSON.stringify(filed.body));
  const executed = await apiCall(a.meshlog, 'POST', `/api/v1/admin/erasure-requests/${filed.body.request.id}/execute`);
  assert.equal(executed.status, 200, JSON.stringify(executed.body));
});

after(async () => {
  await cluster?.stop();
});

/** Node a's lines as the bucket holds them. */
async function replicatedLines(): Promise<Map<string, string>> {
  const bucket = await new Kvm(cluster.observer).open('meshlog_deletion_ledgers');
  const lines = new Map<string, string>();
  for await (const key of await bucket.keys('a.>')) lines.set(key, (await bucket.get(key))!.string());
  return lines;
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
