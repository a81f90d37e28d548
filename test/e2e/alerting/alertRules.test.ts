import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeCheckoutAlertingConfig } from '../../support/checkoutAlerting.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

interface Delivery {
  body: string;
  signature: string;
  answered: number;
}

const secret = 'webhook-secret-for-tests';
const deliveries: Delivery[] = [];
/** Credentials inside receiver URLs (a Slack webhook's path is its secret; some webhooks take a token in the query). */
const slackSecretPath = '/services/T0SLACK/B0SLACK/slackWebhookSecret';
const hookQueryToken = 'hookQuerySecret';

/** What the Slack and PagerDuty receivers were sent, by path. */
const otherDeliveries: { path: string; body: any }[] = [];
let receiver: Server;
let meshlog: RunningMeshlog;

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${meshlog.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme', ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => waitFor(probe, { what, intervalMs: 100 });

function validSignature(delivery: Delivery): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(delivery.body).digest('hex')}`);
  const given = Buffer.from(delivery.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

before(async () => {
  // The rule's window is 10 s: the alert stays firing that long after the errors, long enough for the
  // checks made while it fires (and the silence expired while it fires) even on a loaded machine.
  // The receiver fails the first two deliveries with 500, then accepts.
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://receiver').pathname;
      if (path !== '/hook') {
        otherDeliveries.push({ path, body: JSON.parse(body) });
        response.writeHead(path === '/pd' ? 202 : 200).end();
        return;
      }
      const answered = deliveries.length < 2 ? 500 : 200;
      deliveries.push({ body, signature: String(request.headers['x-meshlog-signature']), answered });
      response.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const dir = tempDataDir('meshlog-alerting-');
  writeFileSync(join(dir, 'pagerduty.key'), 'R0UTINGKEY\n');
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const config = writeCheckoutAlertingConfig(dir, {
    rules: `      - alert: CheckoutErrors
        expr: sum by (service_name) (count_over_time({service_name="checkout"} |= "error" [10s])) > 2
        for: 600ms
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.service_name }} logged {{ $value }} errors"
`,
    webhook: { url: `${receiverUrl}/hook?token=${hookQueryToken}`, secret, options: { max_attempts: 4, initial_backoff_ms: 50 } },
    alerting: `  slack:
    - url: ${receiverUrl}${slackSecretPath}
  pagerduty:
    - url: ${receiverUrl}/pd
      routing_key_file: ${JSON.stringify(join(dir, 'pagerduty.key'))}
`,
  });
  meshlog = await startMeshlog({ args: ['--config', config] });
});

after(async () => {
  if (meshlog?.process.exitCode === null) await meshlog.stop();
  receiver?.close();
});

test('a rule goes pending → firing → resolved, stored and visible through the alert APIs; the webhook is retried after 500s and signed', async () => {
  // Quiet first: the rule is evaluated and healthy, nothing fires.
  const rules = await until('a first evaluation', async () => {
    const { body } = await api('/prometheus/api/v1/rules');
    const rule = body.data.groups[0]?.rules[0];
    return rule?.health === 'ok' ? rule : undefined;
  });
  assert.equal(rules.state, 'inactive');
  assert.equal(rules.duration, 0.6);

  const errors = Array.from({ length: 4 }, (_, i) => `error: card declined (attempt ${i})`);
  assert.equal(
    (
      await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', [...errors, 'GET /health 200']), {
        'x-scope-orgid': 'acme',
      })
    ).status,
    200,
  );
  // Another tenant's errors are not acme's alert.
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', errors), { 'x-scope-orgid': 'beta' })).status,
    200,
  );

  const firing = await until('the alert to fire', async () => {
    const { body } = await api('/prometheus/api/v1/alerts');
    return body.data.alerts.find((alert: any) => alert.state === 'firing');
  });
  assert.deepEqual(firing.labels, { alertname: 'CheckoutErrors', criteria: 'CC7.2', service_name: 'checkout', severity: 'page' });
  assert.equal(firing.annotations.summary, 'checkout logged 4 errors');
  assert.equal(firing.value, '4');
  const rule = (await api('/prometheus/api/v1/rules')).body.data.groups[0].rules[0];
  assert.equal(rule.state, 'firing');
  assert.equal(rule.alerts.length, 1);

  // Delivery: two 500s, then accepted; every attempt carries a valid HMAC and is recorded.
  await until('the firing notification to be accepted', async () => (deliveries.some((d) => d.answered === 200) ? true : undefined));
  assert.deepEqual(
    deliveries.map((d) => d.answered),
    [500, 500, 200],
  );
  assert.ok(deliveries.every(validSignature));
  const notification = JSON.parse(deliveries[2].body);
  assert.equal(notification.status, 'firing');
  assert.equal(notification.alerts[0].labels.alertname, 'CheckoutErrors');
  assert.equal(notification.tenant, 'acme');
  const attempts = await until('the attempts to be recorded', async () => {
    const { body } = await api('/api/v1/alerts/notifications');
    return body.attempts.filter((a: any) => a.receiver.startsWith('webhook ')).length >= 3 ? body.attempts : undefined;
  });
  const webhookAttempts = attempts.filter((a: any) => a.receiver.startsWith('webhook '));
  assert.deepEqual(
    webhookAttempts.slice(0, 3).map((a: any) => [a.status, a.attempt, a.http_status]),
    [
      ['firing', 1, 500],
      ['firing', 2, 500],
      ['firing', 3, 200],
    ],
  );

  // The errors leave the 10 s window: resolved, stored, notified.
  const resolved = await until('the alert to resolve', async () => {
    const { body } = await api('/api/v1/alerts');
    return body.alerts.find((alert: any) => alert.state === 'resolved');
  });
  assert.equal(resolved.alertname, 'CheckoutErrors');
  const history = (await api('/api/v1/alerts?history=true')).body.transitions.map((t: any) => t.state);
  assert.deepEqual(history, ['pending', 'firing', 'resolved']);
  await until('the resolved notification', async () =>
    deliveries.some((d) => JSON.parse(d.body).status === 'resolved') ? true : undefined,
  );
  assert.equal((await api('/prometheus/api/v1/alerts')).body.data.alerts.length, 0);

  // Slack: a readable message per change; PagerDuty: trigger then resolve under one dedup key.
  await until('Slack and PagerDuty resolutions', async () => (otherDeliveries.length >= 4 ? true : undefined));
  const slack = otherDeliveries.filter((d) => d.path === slackSecretPath).map((d) => d.body.text as string);
  assert.match(
    slack[0],
    /^:rotating_light: FIRING: checkout logged 4 errors\ntenant acme; alertname=CheckoutErrors, criteria=CC7.2, service_name=checkout, severity=page$/,
  );
  assert.match(slack[1], /^:white_check_mark: RESOLVED: /);
  const pagerDuty = otherDeliveries.filter((d) => d.path === '/pd').map((d) => d.body);
  assert.deepEqual(
    pagerDuty.map((event) => event.event_action),
    ['trigger', 'resolve'],
  );
  assert.equal(pagerDuty[0].routing_key, 'R0UTINGKEY');
  assert.equal(pagerDuty[0].dedup_key, pagerDuty[1].dedup_key);
  assert.equal(pagerDuty[0].payload.summary, 'checkout logged 4 errors');
  assert.equal((await api('/api/v1/alerts', { headers: { 'x-scope-orgid': 'beta' } })).body.alerts.length, 0);
});

test('rule groups are managed through the ruler API (admin), kept across a restart, and bad ones refused', async () => {
  const group = `name: latency
rules:
  - alert: SlowRequests
    expr: sum(count_over_time({service_name="api"} |= "slow" [1m])) > 100
    for: 5m
`;
  const created = await api('/loki/api/v1/rules/ops', { method: 'POST', body: group, headers: { 'content-type': 'application/yaml' } });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const listed = await api('/loki/api/v1/rules');
  assert.equal(listed.status, 200);
  assert.match(listed.body, /ops:\n\s+- name: latency/);
  assert.match(listed.body, /checkout\.rules\.yaml:/);

  const bad = await api('/loki/api/v1/rules/ops', {
    method: 'POST',
    body: 'name: broken\nrules:\n  - alert: X\n    expr: "{a=\\"b\\"}"\n',
  });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /must be a metric query/);

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: meshlog.process.spawnargs.slice(-2) });
  const names = (await api('/prometheus/api/v1/rules')).body.data.groups.map((g: any) => `${g.file}/${g.name}`);
  assert.deepEqual(names.sort(), ['checkout.rules.yaml/checkout', 'ops/latency']);
  assert.equal((await api('/loki/api/v1/rules/ops/latency', { method: 'DELETE' })).status, 202);
  assert.equal((await api('/loki/api/v1/rules/ops/latency', { method: 'DELETE' })).status, 404);
  assert.deepEqual(
    (await api('/prometheus/api/v1/rules')).body.data.groups.map((g: any) => g.name),
    ['checkout'],
  );
});

test('a silence holds notifications back (recorded as silenced) until it is expired; bad silences are refused', async () => {
  const refused = await api('/api/v1/silences', {
    method: 'POST',
    body: JSON.stringify({ matchers: { alertname: 'CheckoutErrors' }, comment: 'no end' }),
  });
  assert.equal(refused.status, 400);
  assert.match(JSON.stringify(refused.body), /silences always expire/);
  const created = await api('/api/v1/silences', {
    method: 'POST',
    body: JSON.stringify({
      matchers: { alertname: 'CheckoutErrors', service_name: 'checkout' },
      duration: '1h',
      comment: 'deploying checkout',
    }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const silenceId = created.body.id;
  const webhookBefore = deliveries.length;
  const othersBefore = otherDeliveries.length;

  const errors = Array.from({ length: 4 }, (_, i) => `error: during the deploy ${i}`);
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', errors), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  const silenced = await until('the silenced firing notification', async () => {
    const { body } = await api('/api/v1/alerts/notifications');
    return body.attempts.find((a: any) => a.receiver === `silenced by ${silenceId}` && a.status === 'firing');
  });
  assert.equal(silenced.alertname, 'CheckoutErrors');
  assert.equal(deliveries.length, webhookBefore);
  assert.equal(otherDeliveries.length, othersBefore);

  assert.equal((await api(`/api/v1/silences/${silenceId}`, { method: 'DELETE' })).status, 202);
  assert.equal((await api(`/api/v1/silences/${silenceId}`, { method: 'DELETE' })).status, 404);
  const listed = (await api('/api/v1/silences')).body.silences;
  assert.deepEqual(
    listed.map((s: any) => [s.id, s.active, s.comment]),
    [[silenceId, false, 'deploying checkout']],
  );
  // Once expired, the resolution goes out again.
  await until('the resolved notification after the silence', async () =>
    deliveries.slice(webhookBefore).some((d) => JSON.parse(d.body).status === 'resolved') ? true : undefined,
  );
});

test('a silence that ends while its alert still fires lets the firing notification out when it ends', async () => {
  const created = await api('/api/v1/silences', {
    method: 'POST',
    body: JSON.stringify({ matchers: { alertname: 'CheckoutErrors' }, duration: '1h', comment: 'short maintenance' }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const silenceId = created.body.id;
  const webhookBefore = deliveries.length;
  const errors = Array.from({ length: 4 }, (_, i) => `error: after maintenance ${i}`);
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', errors), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  const held = await until('the silenced firing notification', async () => {
    const { body } = await api('/api/v1/alerts/notifications');
    return body.attempts.find((a: any) => a.receiver === `silenced by ${silenceId}` && a.status === 'firing');
  });
  assert.equal(deliveries.length, webhookBefore, 'nothing reaches the receiver while the silence holds');
  // More errors keep the alert firing through the 10 s window while the silence is ended.
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', errors), { 'x-scope-orgid': 'acme' })).status,
    200,
  );
  const firingBefore = (await api('/prometheus/api/v1/alerts')).body.data.alerts.filter((alert: any) => alert.state === 'firing');
  assert.equal(firingBefore.length, 1, 'the alert still fires when the silence ends');

  assert.equal((await api(`/api/v1/silences/${silenceId}`, { method: 'DELETE' })).status, 202);
  const released = await until('the held firing notification', async () =>
    deliveries
      .slice(webhookBefore)
      .map((d) => JSON.parse(d.body))
      .find((body) => body.status === 'firing'),
  );
  assert.equal(released.alerts[0].fingerprint, held.fingerprint);
  // Then the resolution, once the errors leave the window: the receiver saw the whole incident.
  await until('the resolution', async () =>
    deliveries.slice(webhookBefore).some((d) => JSON.parse(d.body).status === 'resolved') ? true : undefined,
  );
  assert.deepEqual(
    deliveries.slice(webhookBefore).map((d) => JSON.parse(d.body).status),
    ['firing', 'resolved'],
  );
});

test("secrets inside receiver URLs (a Slack webhook's path, a token in a webhook's query) appear in no notification attempt, config.change or log line", async () => {
  const attempts = await until('a Slack attempt to be recorded', async () => {
    const { body } = await api('/api/v1/alerts/notifications');
    return body.attempts.some((a: any) => a.receiver.startsWith('slack ')) ? body.attempts : undefined;
  });
  const receivers: string[] = [...new Set<string>(attempts.map((a: any) => a.receiver))];
  assert.ok(
    receivers.some((name) => /^slack http:\/\/127\.0\.0\.1:\d+\/\[redacted\] #[0-9a-f]{12}$/.test(name)),
    receivers.join('\n'),
  );
  assert.ok(
    receivers.some((name) => /^webhook http:\/\/127\.0\.0\.1:\d+\/hook\?token=\[redacted\] #[0-9a-f]{12}$/.test(name)),
    receivers.join('\n'),
  );
  const audit = await fetch(`${meshlog.url}/api/v1/audit?action=config.change`, { headers: { authorization: `Bearer ${meshlog.token}` } });
  const trail = await audit.text();
  assert.equal(audit.status, 200);
  assert.match(trail, /config\.change/);
  for (const secret of ['slackWebhookSecret', hookQueryToken]) {
    assert.ok(!receivers.some((name) => name.includes(secret)), `a notification attempt names ${secret}`);
    assert.ok(!trail.includes(secret), `the audit trail holds ${secret}`);
    assert.ok(!meshlog.output().includes(secret), `the server logged ${secret}`);
  }
});
