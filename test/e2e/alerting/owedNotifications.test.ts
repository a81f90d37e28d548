import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/** What the webhook receiver took: alert name and status of each delivery. */
const delivered: { alertname: string; status: string }[] = [];
let receiver: Server;
let receiverPort = 0;
let meshlog: RunningMeshlog;
let configArgs: string[];

function startReceiver(port: number): Promise<void> {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const parsed = JSON.parse(body);
      delivered.push({ alertname: parsed.alerts[0].labels.alertname, status: parsed.status });
      response.writeHead(200).end();
    });
  });
  return new Promise((resolve) => receiver.listen(port, '127.0.0.1', resolve));
}

/** The receiver goes down: its port refuses connections. */
function stopReceiver(): Promise<void> {
  receiver.closeAllConnections();
  return new Promise((resolve) => receiver.close(() => resolve()));
}

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${meshlog.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${meshlog.token}`,
      'x-scope-orgid': 'acme',
      'content-type': 'application/json',
      ...(init.headers as Record<string, string>),
    },
  });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> =>
  waitFor(probe, { what, timeoutMs: 180_000, intervalMs: 100 });
const deliveriesOf = (alertname: string) => delivered.filter((d) => d.alertname === alertname && d.status === 'firing').length;

async function logErrors(service: string): Promise<void> {
  const errors = Array.from({ length: 4 }, (_, i) => `error: ${service} failed ${i}`);
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest(service, errors), { 'x-scope-orgid': 'acme' })).status, 200);
}

before(async () => {
  await startReceiver(0);
  receiverPort = (receiver.address() as AddressInfo).port;
  const dir = tempDataDir('meshlog-owed-');
  writeFileSync(join(dir, 'webhook.secret'), 'owed-webhook-secret\n');
  // Windows of 10 minutes: every alert keeps firing across the restarts of a test.
  const rule = (name: string, service: string) => `      - alert: ${name}
        expr: sum by (service_name) (count_over_time({service_name="${service}"} |= "error" [10m])) > 2
`;
  writeFileSync(
    join(dir, 'owed.rules.yaml'),
    `groups:
  - name: owed
    interval: 300ms
    tenant: acme
    rules:
${rule('BillingErrors', 'billing')}${rule('PaymentsErrors', 'payments')}${rule('ShippingErrors', 'shipping')}`,
  );
  writeFileSync(
    join(dir, 'meshlog.yaml'),
    `alerting:
  rules_files: [${JSON.stringify(join(dir, 'owed.rules.yaml'))}]
  webhooks:
    - url: http://127.0.0.1:${receiverPort}/hook
      secret_file: ${JSON.stringify(join(dir, 'webhook.secret'))}
      max_attempts: 2
      initial_backoff_ms: 50
`,
  );
  configArgs = ['--config', join(dir, 'meshlog.yaml')];
  meshlog = await startMeshlog({ args: configArgs });
});

after(async () => {
  if (meshlog?.process.exitCode === null) await meshlog.stop();
  receiver?.close();
});

test('a notification the receiver was down for is delivered once after a SIGKILL and a restart', async () => {
  await stopReceiver();
  await logErrors('billing');
  await until('a failed delivery of the firing alert', async () => {
    const { body } = await api('/api/v1/alerts/notifications');
    return body.attempts.find(
      (a: any) => a.alertname === 'BillingErrors' && a.status === 'firing' && a.receiver.startsWith('webhook') && a.error !== '',
    );
  });
  await meshlog.kill();
  await startReceiver(receiverPort);
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: configArgs });
  await until('the owed firing notification', async () => (deliveriesOf('BillingErrors') > 0 ? true : undefined));
  assert.equal(deliveriesOf('BillingErrors'), 1);
});

test('a firing alert held by a silence that ended while the server was down is delivered once after a SIGKILL and a restart', async () => {
  // Long enough for the alert to fire (and be held) before it ends, even on a loaded machine.
  const created = await api('/api/v1/silences', {
    method: 'POST',
    body: JSON.stringify({ matchers: { alertname: 'PaymentsErrors' }, duration: '45s', comment: 'payments maintenance' }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const silenceId = created.body.id;
  await logErrors('payments');
  await until('the held firing notification', async () => {
    const { body } = await api('/api/v1/alerts/notifications');
    return body.attempts.find((a: any) => a.receiver === `silenced by ${silenceId}` && a.status === 'firing');
  });
  assert.equal(deliveriesOf('PaymentsErrors'), 0, 'nothing reaches the receiver while the silence holds');
  const endsAtMs = Date.parse((await api('/api/v1/silences')).body.silences.find((s: any) => s.id === silenceId).ends_at);
  await meshlog.kill();
  await until('the end of the silence while the server is down', async () => (Date.now() > endsAtMs ? true : undefined));
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: configArgs });
  await until('the released firing notification', async () => (deliveriesOf('PaymentsErrors') > 0 ? true : undefined));
  assert.equal(deliveriesOf('PaymentsErrors'), 1);
});

test('what a receiver took is never sent again: after a further restart only the new alert arrives', async () => {
  await meshlog.stop();
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: configArgs });
  await logErrors('shipping');
  await until('the new alert after the restart', async () => (deliveriesOf('ShippingErrors') > 0 ? true : undefined));
  assert.deepEqual(['BillingErrors', 'PaymentsErrors', 'ShippingErrors'].map(deliveriesOf), [1, 1, 1]);
});
