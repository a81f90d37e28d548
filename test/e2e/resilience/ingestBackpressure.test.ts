import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';
import { waitFor } from '../../support/waitFor.js';

test('a full ingest queue answers 429 with Retry-After instead of dropping or buffering without bound', async () => {
  // A long linger holds the first request in the queue, so the queue is full when the second arrives
  // (10 s: long enough to see it queued and send the second even when a loaded machine makes each request slow).
  const meshlog = await startMeshlog({
    env: { MESHLOG_INGEST_MAX_QUEUED_RECORDS: '10', MESHLOG_INGEST_BATCH_LINGER_MS: '10000' },
  });
  // Authenticate once first: the login's audit record commits on its own, not beside the queued request.
  await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text();
  let firstAnswered = false;
  const first = postOtlpJson(
    meshlog.url,
    meshlog.token,
    otlpJsonRequest(
      'bp',
      Array.from({ length: 8 }, (_, i) => `queued ${i}`),
    ),
  ).finally(() => (firstAnswered = true));
  await waitFor(
    async () => {
      const metrics = await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text();
      if (/^meshlog_queue_records 8$/m.test(metrics)) return true;
      assert.ok(!firstAnswered, 'the first request was answered before it was ever seen queued');
      return false;
    },
    { what: 'the first request to be queued', intervalMs: 20 },
  );
  const refused = await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('bp', ['one', 'two', 'three']));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.match(await refused.text(), /queue is full/);
  assert.equal((await first).status, 200, 'the queued request is committed and acknowledged');

  const metrics = await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text();
  assert.match(metrics, /meshlog_records_rejected_total\{receiver="otlp_http",reason="overloaded"\} 3/);
  assert.match(metrics, /meshlog_records_committed_total\{receiver="otlp_http"\} 8/);

  assert.equal(await meshlog.stop(), 0);
  const rows = await readCommitted<{ n: string }>(meshlog.dataDir, 'SELECT count() AS n FROM meshlog.logs');
  assert.equal(Number(rows[0].n), 8);
});
