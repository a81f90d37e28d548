import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { runStatements } from '../../support/storageReader.js';
import { waitFor } from '../../support/waitFor.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

interface ListedPattern {
  pattern_id: string;
  template: string;
  count: number;
  first_seen: string;
}

let meshlog: RunningMeshlog;
let listedBeforeRestart: ListedPattern[] = [];
let startSeconds: number;

const declined = (i: number) => `payment ${1000 + i} declined for user ${i * 7}: card expired`;
const cacheMiss = (i: number) => `cache miss for key session:${i.toString(16)}abc in 3${i}ms`;

async function get(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${meshlog.url}${path}`, { headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' } });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

before(async () => {
  meshlog = await startMeshlog({ env: { MESHLOG_PATTERNS_FLUSH_INTERVAL_MS: '100' } });
  startSeconds = Math.floor(Date.now() / 1000) - 60;
  const bodies = [...Array.from({ length: 12 }, (_, i) => declined(i)), ...Array.from({ length: 5 }, (_, i) => cacheMiss(i))];
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', bodies), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  // Another tenant's same lines are its own patterns.
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', [declined(99)]), { 'x-scope-orgid': 'beta' })).status,
    200,
  );
});

after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('Loki /patterns: each mined template of the selected streams with counts per step', async () => {
  // Templates reach the patterns table on the next flush (100 ms here).
  const body: any = await waitFor(
    async () => {
      const response = await get(
        `/loki/api/v1/patterns?query=${encodeURIComponent('{service_name="checkout"}')}&start=${startSeconds}&end=${startSeconds + 600}&step=600s`,
      );
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body.data.length === 2 && response.body;
    },
    { what: 'both templates of checkout in /patterns', intervalMs: 100 },
  );
  assert.equal(body.status, 'success');
  assert.deepEqual(
    body.data.map((entry: any) => [entry.pattern, entry.samples.reduce((sum: number, [, count]: [number, number]) => sum + count, 0)]),
    [
      ['payment <*> declined for user <*> card expired', 12],
      ['cache miss for key session:<*> in <*>', 5],
    ],
  );
  assert.equal(body.data[0].samples[0][0], startSeconds);
  const filtered = await get(
    `/loki/api/v1/patterns?query=${encodeURIComponent('{service_name="checkout"} |= "cache"')}&start=${startSeconds}&end=${startSeconds + 600}&step=60s`,
  );
  assert.deepEqual(
    filtered.body.data.map((entry: any) => entry.pattern),
    ['cache miss for key session:<*> in <*>'],
  );
  const bad = await get(`/loki/api/v1/patterns?query=${encodeURIComponent('{service_name="checkout"} | json')}`);
  assert.equal(bad.status, 400);
  assert.match(bad.body, /stream selector and line filters/);
});

test('queries group by pattern_id, and /api/v1/patterns lists top and new patterns', async () => {
  const listed = await get('/api/v1/patterns?service=checkout&new_since=24h');
  assert.equal(listed.status, 200);
  assert.deepEqual(
    listed.body.patterns.map((p: any) => [p.template, p.count]),
    [
      ['payment <*> declined for user <*> card expired', 12],
      ['cache miss for key session:<*> in <*>', 5],
    ],
  );
  listedBeforeRestart = listed.body.patterns;
  const declinedId = listed.body.patterns[0].pattern_id;
  const query = encodeURIComponent('sum by (pattern_id) (count_over_time({service_name="checkout"}[1h]))');
  const grouped = await get(`/loki/api/v1/query?query=${query}&time=${startSeconds + 120}`);
  assert.equal(grouped.status, 200, JSON.stringify(grouped.body));
  const counts = Object.fromEntries(grouped.body.data.result.map((sample: any) => [sample.metric.pattern_id, sample.value[1]]));
  assert.equal(counts[declinedId], '12');
  // Nothing was first seen in the future.
  assert.deepEqual((await get('/api/v1/patterns?new_since=0s')).body.patterns, []);
});

test('pattern ids are sealed with their records: verify passes, and a changed id is found', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const clean = spawnSync(process.execPath, [cli, 'verify', '--data-dir', meshlog.dataDir], { encoding: 'utf8' });
  assert.equal(clean.status, 0, clean.stdout + clean.stderr);
  const copy = tempDataDir('meshlog-pattern-tamper-');
  cpSync(meshlog.dataDir, copy, { recursive: true });
  cpSync(`${meshlog.dataDir}-signing.key.pub`, `${copy}-signing.key.pub`);
  cpSync(`${meshlog.dataDir}-storage.keys`, `${copy}-storage.keys`);
  await runStatements(copy, [
    `ALTER TABLE meshlog.logs UPDATE pattern_id = '0000000000000000' WHERE tenant = 'beta' SETTINGS mutations_sync = 2`,
  ]);
  const tampered = spawnSync(process.execPath, [cli, 'verify', '--data-dir', copy, '--output', 'json'], { encoding: 'utf8' });
  assert.equal(tampered.status, 1, tampered.stdout + tampered.stderr);
  assert.match(tampered.stdout, /modified/);
});

test('after a restart, templates keep their ids and first sighting, and counts carry on', async () => {
  const before = listedBeforeRestart.find((p) => p.template.startsWith('payment'))!;
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, env: { MESHLOG_PATTERNS_FLUSH_INTERVAL_MS: '100' } });
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', [declined(500)]), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  // Waits for the 13th sighting to be flushed; a count past 13 fails at once.
  const after = await waitFor(
    async () => {
      const listed = ((await get('/api/v1/patterns?service=checkout')).body.patterns as ListedPattern[]).find((p) =>
        p.template.startsWith('payment'),
      );
      assert.ok((listed?.count ?? 0) <= 13, `count ${listed?.count}`);
      return listed?.count === 13 && listed;
    },
    { what: 'the payment template to count 13', intervalMs: 100 },
  );
  assert.equal(after.pattern_id, before.pattern_id);
  assert.equal(after.first_seen, before.first_seen);
});
