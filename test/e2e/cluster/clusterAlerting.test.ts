import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import { Kvm, type KV } from '@nats-io/kv';
import { serviceErrorsAlerting, startAlertWebhook, type Notification } from '../../support/alertWebhook.js';
import { startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { tempDataDir } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes, 3 meshlog nodes with the same alert rule and webhook: one notification per incident.
const tenant = 'acme';
let cluster: TestCluster | undefined;
let leases: KV;
let states: KV;
let receiver: Server;
const nodes: ClusterNode[] = [];
/** Every delivery the webhook took: status and the service the alert is about. */
let delivered: Notification[] = [];

const firingFor = (service: string) => delivered.filter((d) => d.status === 'firing' && d.service === service).length;
const until = <T>(what: string, probe: () => Promise<T | undefined | false>) =>
  waitFor(probe, { what, timeoutMs: 180_000, intervalMs: 100 });

before(async () => {
  const webhook = await startAlertWebhook();
  receiver = webhook.server;
  delivered = webhook.delivered;
  // A 10-minute window: the incident keeps firing for the whole test, across the kill.
  const config = serviceErrorsAlerting(tempDataDir('meshlog-cluster-alerting-'), tenant, '10m', webhook.url);
  // Started together, as in a rolling deploy of a new cluster.
  cluster = await startTestCluster(['a', 'b', 'c'].map((id) => ({ id, cluster: ['leases: { ttl_ms: 3000 }'], config })));
  nodes.push(...cluster.nodes);
  leases = await new Kvm(cluster.observer).open('meshlog_leases');
  states = await new Kvm(cluster.observer).open('meshlog_lease_state');
});

after(async () => {
  await cluster?.stop();
  receiver?.close();
});

/** The node holding the alert group's lease, and the lease's name (there is one group). */
async function groupLease(): Promise<{ name: string; node: string; revision: number } | undefined> {
  for await (const name of await leases.keys('alert-group.>')) {
    const entry = await leases.get(name);
    const holder = entry?.json<{ node: string; expires_at: number }>();
    if (entry && holder && holder.expires_at > Date.now()) return { name, node: holder.node, revision: entry.revision };
  }
  return undefined;
}

/** What the holder left for the next one: the group's alert instances. */
async function handedOver(name: string): Promise<{ state: string; labels: Record<string, string> }[]> {
  return (await states.get(name))?.json() ?? [];
}

async function logErrors(node: ClusterNode, service: string): Promise<void> {
  const errors = Array.from({ length: 4 }, (_, i) => `error: ${service} failed ${i}`);
  const response = await postOtlpJson(node.meshlog.url, node.meshlog.token, otlpJsonRequest(service, errors), { 'x-scope-orgid': tenant });
  assert.equal(response.status, 200, await response.text());
}

test('with 3 nodes, a rule fires one notification per incident', async () => {
  await logErrors(nodes[1], 'billing');
  await until('the firing notification', async () => firingFor('billing') > 0);
  const lease = await until('the group lease', groupLease);
  // Every node evaluates nothing of the group but its lease holder: evaluations go on, no other notification comes.
  await until('the holder to evaluate the group again after notifying', async () => {
    const now = await groupLease();
    return now && now.revision > lease.revision + 3 && now;
  });
  assert.equal(firingFor('billing'), 1);
});

test('SIGKILL of the lease holder: another node takes the group over and does not notify the incident again; a new incident is notified once', async () => {
  const before = await until('the group lease', groupLease);
  await until('the holder to hand over the firing incident', async () =>
    (await handedOver(before.name)).some((instance) => instance.state === 'firing' && instance.labels.service_name === 'billing'),
  );
  const holder = nodes.find((node) => node.id === before.node)!;
  await holder.meshlog.kill();

  const taken = await until('another node to take the group lease', async () => {
    const now = await groupLease();
    return now && now.node !== before.node && now;
  });
  // Several evaluations by the new holder: had it not taken the incident over, it would have notified it by now (no `for:`).
  await until('the new holder to evaluate the group several times', async () => {
    const now = await groupLease();
    return now && now.node === taken.node && now.revision > taken.revision + 3;
  });
  assert.equal(firingFor('billing'), 1, 'the incident notified before the kill is not notified again');

  await logErrors(
    nodes.find((node) => node.id === taken.node)!,
    'payments',
  );
  await until('the new incident notified by the new holder', async () => firingFor('payments') > 0);
  const after = await until('the new holder to evaluate again', async () => {
    const now = await groupLease();
    return now && now.revision > taken.revision + 3 && now;
  });
  assert.equal(after.node, taken.node);
  assert.equal(firingFor('payments'), 1);
  assert.equal(firingFor('billing'), 1);
});

test('a lease holder paused past its lease (SIGSTOP) and resumed, its fencing token stale, notifies nothing the new holder notified', async (t) => {
  const before = await until('the group lease', groupLease);
  const holder = nodes.find((node) => node.id === before.node)!;
  // The node killed by the previous test has a signal code (and no exit code).
  const other = nodes.find((node) => node.id !== before.node && node.meshlog.process.signalCode === null)!;
  holder.meshlog.process.kill('SIGSTOP');
  try {
    const taken = await until('the other node to take the lease of the paused holder', async () => {
      const now = await groupLease();
      return now && now.node === other.id && now;
    });
    await logErrors(other, 'shipping');
    await until('the new incident notified by the new holder', async () => firingFor('shipping') > 0);
    assert.ok((await groupLease())!.revision > taken.revision);
  } finally {
    holder.meshlog.process.kill('SIGCONT');
  }
  // The resumed node runs its overdue evaluations now; the new holder goes on renewing meanwhile.
  await until(
    'the resumed node to answer',
    async () => (await fetch(`${holder.meshlog.url}/ready`).catch(() => undefined))?.status === 200,
  );
  const resumed = await until('the group lease after the resume', groupLease);
  await until('the holder to renew several times after the resume', async () => {
    const now = await groupLease();
    return now && now.revision > resumed.revision + 3 && now;
  });
  t.diagnostic(
    `the resumed node dropped an evaluation it had under way: ${holder.meshlog.output().includes('lease lost during its evaluation')}`,
  );
  assert.equal((await groupLease())!.node, other.id);
  assert.equal(firingFor('shipping'), 1);
  assert.equal(firingFor('payments'), 1);
  assert.equal(firingFor('billing'), 1);
});
