import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { sendSteadily } from '../../support/steadySender.js';
import { waitFor } from '../../support/waitFor.js';

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
  const response = await fetch(`${meshlog.url}/api/v1/alerts`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' },
  });
  return ((await response.json()) as { alerts: any[] }).alerts;
}

const invoice = (i: number) =>
  postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('billing', [`invoice ${i} issued`]), { 'x-scope-orgid': 'acme' });

test('a service that stops sending raises a silent-service alert with its explanation, resolved when it sends again', async () => {
  // A steady stream for two seconds (sends do not wait for each other, so a slow server still gets one every 50 ms), then nothing.
  const sent = await sendSteadily(invoice, 2000);
  const silent = await waitFor(
    async () => (await alerts()).find((alert) => alert.labels.detector === 'silent_service' && alert.state === 'firing'),
    { what: 'a silent-service alert' },
  );
  assert.equal(silent.labels.service_name, 'billing');
  assert.equal(silent.labels.criteria, 'CC7.2, CC7.3');
  assert.equal(silent.namespace, 'anomaly');
  // The median per bucket depends on how the machine scheduled the sends (1.5 is as right as 6): any median the records sent can make.
  const explained = /^no records for 3 buckets of 0\.3s; it used to send a median of (\d+(?:\.\d+)?) per bucket: a logging gap$/.exec(
    silent.annotations.explanation,
  );
  assert.ok(explained, silent.annotations.explanation);
  const median = Number(explained[1]);
  assert.ok(median >= 1 && median <= sent, `a median of ${median} per bucket from ${sent} records sent`);

  // It sends again (one record per probe until the alert is seen resolved, so a later silence cannot hide the resolution).
  let i = sent;
  await waitFor(
    async () => {
      assert.equal((await invoice(i++)).status, 200);
      return (await alerts()).find((alert) => alert.fingerprint === silent.fingerprint && alert.state === 'resolved');
    },
    { what: 'the silent-service alert to resolve', intervalMs: 100 },
  );
});
