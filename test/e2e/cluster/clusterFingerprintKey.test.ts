import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Kvm, type KV } from '@nats-io/kv';
import { serviceErrorsAlerting, startAlertWebhook, type Notification } from '../../support/alertWebhook.js';
import { startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { tempDataDir } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes, 2 meshlog nodes with the same alert rule: the same alert gets the same fingerprint on either node.
const tenant = 'acme';
let cluster: TestCluster;
let leases: KV;
let receiver: Server;
/** Every firing or resolved notification the webhook took. */
let delivered: Notification[] = [];

const notified = (status: string, service: string) => delivered.filter((d) => d.status === status && d.service === service);
const until = <T>(what: string, probe: () => Promise<T | undefined | false>) =>
  waitFor(probe, { what, timeoutMs: 180_000, intervalMs: 100 });

before(async () => {
  const webhook = await startAlertWebhook();
  receiver = webhook.server;
  delivered = webhook.delivered;
  // A 3-second window: an incident resolves by itself once its lines are 3 s old, so the same labels can fire anew.
  const config = serviceErrorsAlerting(tempDataDir('meshlog-cluster-fingerprint-'), tenant, '3s', webhook.url);
  cluster = await startTestCluster(['a', 'b'].map((id) => ({ id, cluster: ['leases: { ttl_ms: 3000 }'], config })));
  leases = await new Kvm(cluster.observer).open('meshlog_leases');
});

after(async () => {
  await cluster?.stop();
  receiver?.close();
});

/** The node holding the alert group's lease (there is one group). */
async function groupHolder(): Promise<string | undefined> {
  for await (const name of await leases.keys('alert-group.>')) {
    const holder = (await leases.get(name))?.json<{ node: string; expires_at: number }>();
    if (holder && holder.expires_at > Date.now()) return holder.node;
  }
  return undefined;
}

async function logErrors(node: ClusterNode, service: string, tenantName = tenant, token = node.meshlog.token): Promise<void> {
  const errors = Array.from({ length: 4 }, (_, i) => `error: ${service} failed ${i}`);
  const response = await postOtlpJson(node.meshlog.url, token, otlpJsonRequest(service, errors), { 'x-scope-orgid': tenantName });
  assert.equal(response.status, 200, await response.text());
}

test('the same alert labels firing anew on another node get the same fingerprint: one key for the cluster, no key file', async () => {
  await logErrors(cluster.node('a'), 'billing');
  const first = await until('the first firing notification', async () => notified('firing', 'billing')[0]);
  const firstHolder = await until('the group lease', groupHolder);
  await until('the incident to resolve', async () => notified('resolved', 'billing').length > 0);
  assert.equal(notified('resolved', 'billing')[0].fingerprint, first.fingerprint);

  // The holder stops (its lease goes back at once, its instances handed over: none, the incident resolved): the other takes the group.
  await cluster.node(firstHolder).meshlog.stop();
  const other = cluster.nodes.find((node) => node.id !== firstHolder)!;
  await until('the other node to take the group', async () => (await groupHolder()) === other.id);
  await logErrors(other, 'billing');
  const second = await until('the second firing notification', async () => notified('firing', 'billing')[1]);
  assert.equal(second.fingerprint, first.fingerprint, `fingerprint on ${other.id} is the one ${firstHolder} gave the same labels`);
  assert.match(second.fingerprint, /^[0-9a-f]{20}$/);
  // The key is the cluster's (bucket meshlog_cluster_secrets), not a file beside either node's data directory.
  for (const node of cluster.nodes) assert.equal(existsSync(`${resolve(node.meshlog.dataDir)}-alert-fingerprint.key`), false);
  const secrets = await new Kvm(cluster.observer).open('meshlog_cluster_secrets');
  assert.match((await secrets.get('alert-fingerprint'))?.string() ?? '', /^[0-9a-f]{64}$/);
});

test('another tenant sees nothing of the alert through either node and cannot acknowledge it by its fingerprint', async () => {
  const { fingerprint } = notified('firing', 'billing')[0];
  // Both nodes hold the alert's transitions: the first holder (started again) those it evaluated, the other its own.
  const stopped = cluster.nodes.find((node) => node.meshlog.process.exitCode !== null || node.meshlog.process.signalCode !== null)!;
  await stopped.restart();
  const running = cluster.nodes[0];
  const created = await fetch(`${running.meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${running.meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'other tenant analyst', roles: ['analyst'], tenants: ['other'] }),
  });
  assert.equal(created.status, 201);
  const { key } = (await created.json()) as { key: string };
  for (const node of cluster.nodes) {
    const call = (path: string, token: string, scope: string, init: RequestInit = {}) =>
      fetch(`${node.meshlog.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': scope, 'content-type': 'application/json' },
      });
    const history = async (token: string, scope: string) => {
      const answer = await call('/api/v1/alerts?history=true', token, scope);
      assert.equal(answer.status, 200, `${node.id}: ${answer.status}`);
      return ((await answer.json()) as { transitions: { fingerprint: string }[] }).transitions;
    };
    // The alert is there for its own tenant, so an empty answer to the other tenant is not an empty store.
    assert.ok(
      (await history(node.meshlog.token, tenant)).some((t) => t.fingerprint === fingerprint),
      `${node.id} holds the alert`,
    );
    await until(`${node.id} to take the other tenant's key`, async () => (await call('/api/v1/alerts', key, 'other')).status === 200);
    assert.deepEqual(await history(key, 'other'), [], `${node.id} shows the other tenant nothing`);
    const acknowledged = await call('/api/v1/alerts/acknowledge', key, 'other', { method: 'POST', body: JSON.stringify({ fingerprint }) });
    assert.equal(acknowledged.status, 404, `${node.id}: acknowledging another tenant's alert`);
    // The first tenant's alerts with the other tenant's key: refused outright.
    assert.equal((await call('/api/v1/alerts', key, tenant)).status, 403, `${node.id}: reading the first tenant's alerts`);
  }
});
