import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import WebSocket from 'ws';
import { lokiCall } from '../../support/lokiCall.js';
import { pushLokiLines } from '../../support/clusterNodes.js';
import { caughtUp, startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server with accounts and users (meshlog's own account; another one for an intruder), 2 meshlog nodes
// that connect with their credentials.
const stream = 'MESHLOG_RECORDS';
const recordSubject = `meshlog.${stream}.records`;
const meshlogUser = { user: 'meshlog', pass: 'meshlog-nats-secret-0123' };
const intruderUser = { user: 'intruder', pass: 'intruder-nats-secret-0123' };
const accounts = `accounts {
  MESHLOG: { jetstream: enabled, users: [ { user: ${meshlogUser.user}, password: "${meshlogUser.pass}" } ] }
  OTHER: { jetstream: enabled, users: [ { user: ${intruderUser.user}, password: "${intruderUser.pass}" } ] }
}`;
let cluster: TestCluster;
const nodes: Record<'a' | 'b', ClusterNode> = {} as never;

before(async () => {
  // Under cluster.nats: the nodes connect as meshlog's user.
  const credentials = [`  user: ${meshlogUser.user}`, `  password: ${meshlogUser.pass}`];
  cluster = await startTestCluster(
    ['a', 'b'].map((id) => ({ id, cluster: credentials })),
    { nats: { config: accounts, credentials: meshlogUser } },
  );
  [nodes.a, nodes.b] = cluster.nodes;
});

after(async () => {
  await cluster.stop();
});

async function streamMessages(): Promise<number> {
  return (await (await jetstreamManager(cluster.observer)).streams.info(stream)).state.messages;
}

async function linesOf(node: ClusterNode, tenant: string, selector: string): Promise<string[]> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const answer = await lokiCall(node.meshlog, tenant, '/loki/api/v1/query_range', {
    query: selector,
    start: String(nowNs - 3_600_000_000_000n),
    end: String(nowNs + 60_000_000_000n),
    limit: '1000',
  });
  assert.equal(answer.status, 200, answer.text);
  return (answer.body.data.result as { values: [string, string][] }[]).flatMap((series) => series.values.map(([, line]) => line));
}

test('a NATS client without credentials is refused: it can neither publish to the record stream nor write the API key bucket', async () => {
  await assert.rejects(connect({ servers: cluster.nats.urls, maxReconnectAttempts: 0, timeout: 10_000 }), /authorization/i);
  await assert.rejects(
    connect({ servers: cluster.nats.urls, maxReconnectAttempts: 0, timeout: 10_000, user: meshlogUser.user, pass: 'guessed' }),
    /authorization/i,
  );
});

test("a NATS user of another account cannot publish to the record stream nor write the API key bucket: nothing reaches meshlog's", async () => {
  // The nodes are up: their stream and key bucket exist in meshlog's account.
  await pushLokiLines(nodes.a.meshlog, 'intrusion', 'genuine', ['a genuine line']);
  await caughtUp(cluster.observer, 'a', stream);
  const before = await streamMessages();
  const intruder = await connect({ servers: cluster.nats.urls, maxReconnectAttempts: 0, ...intruderUser });
  try {
    const js = jetstream(intruder, { timeout: 5_000 });
    await assert.rejects(js.publish(recordSubject, new TextEncoder().encode('forged records')));
    await assert.rejects(js.publish('$KV.meshlog_api_keys.key.forged', JSON.stringify({ id: 'forged', roles: ['admin'] })));
    // A core publish on the same subjects goes nowhere outside the intruder's account.
    intruder.publish(recordSubject, 'forged records');
    intruder.publish('$KV.meshlog_api_keys.key.forged', JSON.stringify({ id: 'forged', roles: ['admin'] }));
    await intruder.flush();
  } finally {
    await intruder.close();
  }
  assert.equal(await streamMessages(), before, 'the record stream took nothing from the intruder');
  const keys = await (
    await jetstreamManager(cluster.observer)
  ).streams
    .getMessage('KV_meshlog_api_keys', { last_by_subj: '$KV.meshlog_api_keys.key.forged' })
    .catch(() => null);
  assert.equal(keys, null, 'the key bucket holds no forged key');
});

test("a NATS user of another account cannot read the cluster's secrets (the alert fingerprint key) nor put its own", async () => {
  // The nodes put the key at start (alerting is on by default): it is there, in meshlog's account.
  const secrets = await new Kvm(cluster.observer).open('meshlog_cluster_secrets');
  const key = (await secrets.get('alert-fingerprint'))?.string();
  assert.match(key ?? '', /^[0-9a-f]{64}$/);
  const intruder = await connect({ servers: cluster.nats.urls, maxReconnectAttempts: 0, ...intruderUser });
  try {
    // Opening the bucket by name finds the intruder's own account's (none): the key is not read through it.
    const seen = await new Kvm(intruder)
      .open('meshlog_cluster_secrets')
      .then((bucket) => bucket.get('alert-fingerprint'))
      .catch(() => null);
    assert.equal(seen, null);
    const js = jetstream(intruder, { timeout: 5_000 });
    await assert.rejects(js.publish('$KV.meshlog_cluster_secrets.forged', 'f'.repeat(64)));
    // Reading the key's subject directly answers nothing outside meshlog's account.
    await assert.rejects(
      intruder.request('$JS.API.DIRECT.GET.KV_meshlog_cluster_secrets.$KV.meshlog_cluster_secrets.alert-fingerprint', '', {
        timeout: 5_000,
      }),
    );
  } finally {
    await intruder.close();
  }
  assert.equal((await secrets.get('alert-fingerprint'))?.string(), key);
  assert.equal(await secrets.get('forged'), null);
});

test('a tenant-A key used on node A cannot make records land under tenant B, on node A or on node B', async () => {
  const created = await fetch(`${nodes.a.meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodes.a.meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tenant-a shipper', roles: ['ingester'], tenants: ['tenant-a'] }),
  });
  assert.equal(created.status, 201);
  const { key } = (await created.json()) as { key: string };
  for (const tenant of ['tenant-b', 'tenant-a|tenant-b']) {
    const status = await pushLokiLines(nodes.a.meshlog, tenant, 'cross-tenant', [`forged for ${tenant}`], key);
    // Refused: 403 for another tenant, 400 for a multi-tenant push (a push names one tenant).
    assert.ok([400, 401, 403].includes(status), `push as ${tenant} with a tenant-a key answered ${status}`);
  }
  // The same key on B, once the key reached it: tenant-a only.
  await waitFor(async () => (await pushLokiLines(nodes.b.meshlog, 'tenant-a', 'cross-tenant', ['genuine through B'], key)) === 204, {
    what: "B to take A's key",
  });
  const throughB = await pushLokiLines(nodes.b.meshlog, 'tenant-b', 'cross-tenant', ['forged through B'], key);
  assert.ok(throughB === 401 || throughB === 403, `push as tenant-b on B answered ${throughB}`);
  assert.equal(await pushLokiLines(nodes.a.meshlog, 'tenant-a', 'cross-tenant', ['genuine through A'], key), 204);
  await caughtUp(cluster.observer, 'a', stream);
  await caughtUp(cluster.observer, 'b', stream);
  for (const node of [nodes.a, nodes.b]) {
    assert.deepEqual(await linesOf(node, 'tenant-b', '{service_name="cross-tenant"}'), [], `nothing under tenant-b on ${node.id}`);
    assert.deepEqual((await linesOf(node, 'tenant-a', '{service_name="cross-tenant"}')).sort(), ['genuine through A', 'genuine through B']);
  }
});

test('a live tail opened on node A shows records ingested through node B, and not those of another tenant', async () => {
  const url = `${nodes.a.meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="tailed"}')}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${nodes.a.meshlog.token}`, 'x-scope-orgid': 'tail-tenant' } });
  const lines: string[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { streams: { values: [string, string][] }[] };
    for (const series of frame.streams) for (const [, line] of series.values) lines.push(line);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  try {
    assert.equal(await pushLokiLines(nodes.b.meshlog, 'other-tenant', 'tailed', ['not for this tail']), 204);
    assert.equal(await pushLokiLines(nodes.b.meshlog, 'tail-tenant', 'tailed', ['through B, tailed on A']), 204);
    await waitFor(() => lines.includes('through B, tailed on A'), { what: "the line pushed to B on A's tail" });
    assert.deepEqual(lines, ['through B, tailed on A']);
  } finally {
    socket.close();
  }
});
