import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMeshlog } from './support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from './support/otlpJson.js';
import { readCommitted } from './support/storageReader.js';

test('a full ingest queue answers 429 with Retry-After instead of dropping or buffering without bound', async () => {
  // A long linger holds the first request in the queue, so the queue is full when the second arrives.
  const meshlog = await startMeshlog({
    env: { MESHLOG_INGEST_MAX_QUEUED_RECORDS: '10', MESHLOG_INGEST_BATCH_LINGER_MS: '3000' },
  });
  // Authenticate once first: the login's audit record commits on its own, not beside the queued request.
  await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text();
  const first = postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('bp', Array.from({ length: 8 }, (_, i) => `queued ${i}`)));
  let refused: Response | undefined;
  for (let attempt = 0; attempt < 50 && !refused; attempt++) {
    const metrics = await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text();
    if (/^meshlog_queue_records 8$/m.test(metrics)) {
      refused = await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('bp', ['one', 'two', 'three']));
    } else {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  assert.ok(refused, 'the first request was seen queued');
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
