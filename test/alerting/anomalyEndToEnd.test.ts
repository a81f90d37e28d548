import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../support/otlpJson.js';

let meshlog: RunningMeshlog;

before(async () => {
  const dir = tempDataDir('meshlog-anomaly-');
  // Short buckets so a logging gap shows within seconds.
  writeFileSync(
    join(dir, 'meshlog.yaml'),
    `alerting:
  anomaly:
    bucket_ms: 300
    warmup_buckets: 2
    baseline_buckets: 20
    silent_buckets: 3
`,
  );
  meshlog = await startMeshlog({ args: ['--config', join(dir, 'meshlog.yaml')] });
});

after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

async function alerts(): Promise<any[]> {
  const response = await fetch(`${meshlog.url}/api/v1/alerts`, { headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' } });
  return ((await response.json()) as { alerts: any[] }).alerts;
}

async function sendFor(ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until; i++) {
    assert.equal((await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('billing', [`invoice ${i} issued`]), { 'x-scope-orgid': 'acme' })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a service that stops sending raises a silent-service alert with its explanation, resolved when it sends again', async () => {
  await sendFor(2000);
  let silent: any;
  for (const deadline = Date.now() + 20_000; !silent && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    silent = (await alerts()).find((alert) => alert.labels.detector === 'silent_service' && alert.state === 'firing');
  }
  assert.ok(silent, 'no silent-service alert');
  assert.equal(silent.labels.service_name, 'billing');
  assert.equal(silent.labels.criteria, 'CC7.2, CC7.3');
  assert.equal(silent.namespace, 'anomaly');
  assert.match(silent.annotations.explanation, /^no records for 3 buckets of 0\.3s; it used to send a median of \d+ per bucket: a logging gap$/);

  await sendFor(700);
  let resolved: any;
  for (const deadline = Date.now() + 20_000; !resolved && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    resolved = (await alerts()).find((alert) => alert.fingerprint === silent.fingerprint && alert.state === 'resolved');
  }
  assert.ok(resolved, 'the silent-service alert did not resolve');
});
