import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pushLokiLines } from '../../support/clusterNodes.js';
import { recentLines } from '../../support/lokiCall.js';
import { caughtUp, startTestCluster, type TestCluster } from '../../support/meshlogCluster.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes and 2 meshlog nodes whose erasure requests run at the next check (no cancellation window):
// every node's timer runs the due requests on its own copy while the other node's executions arrive.
const tenant = 'acme';
let cluster: TestCluster;

before(async () => {
  const config = 'erasure:\n  cancel_window: 0s\n  check_interval_ms: 1000\n';
  cluster = await startTestCluster([
    { id: 'a', config },
    { id: 'b', config },
  ]);
});

after(async () => {
  await cluster?.stop();
});

test('due erasures filed through A run on both copies, each request once per node, and no due run fails on a request the other node closed', async () => {
  const { a, b } = { a: cluster.node('a').meshlog, b: cluster.node('b').meshlog };
  const jobs = ['subject-1', 'subject-2', 'subject-3'];
  for (const job of jobs) assert.equal(await pushLokiLines(a, tenant, job, [`${job} line 1`, `${job} line 2`]), 204);
  await caughtUp(cluster.observer, 'a');
  await caughtUp(cluster.observer, 'b');
  const ids: string[] = [];
  for (const job of jobs) {
    const filed = await fetch(`${a.url}/api/v1/admin/erasure-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tenant,
        selector: `{service_name="${job}"}`,
        from: new Date(Date.now() - 3_600_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
        reason: 'data subject request',
      }),
    });
    assert.equal(filed.status, 201);
    ids.push(((await filed.json()) as { request: { id: string } }).request.id);
  }
  for (const node of [a, b]) {
    const executed = await waitFor(
      async () => {
        const answer = await fetch(`${node.url}/api/v1/admin/erasure-requests`, { headers: { authorization: `Bearer ${node.token}` } });
        const requests = ((await answer.json()) as { requests: { id: string; status: string; evidence: { records: number } | null }[] })
          .requests;
        const ours = requests.filter((request) => ids.includes(request.id));
        return ours.length === ids.length && ours.every((request) => request.status === 'executed') && ours;
      },
      { what: 'every request executed', timeoutMs: 180_000, intervalMs: 200 },
    );
    assert.deepEqual(
      executed.map((request) => request.evidence?.records),
      [2, 2, 2],
      `each request erased its 2 records on this node's copy`,
    );
    for (const job of jobs) assert.deepEqual(await recentLines(node, tenant, `{service_name="${job}"}`), []);
    assert.doesNotMatch(node.output(), /erasure run failed/);
  }
});
