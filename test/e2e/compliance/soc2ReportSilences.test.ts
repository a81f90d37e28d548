import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { ReportSection, Soc2Report } from '../../../src/compliance/reportModel.js';
import { writeCheckoutAlertingConfig } from '../../support/checkoutAlerting.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * An auditor asks of monitoring (CC7.2) what was muted: every silence in
 * force in the period, who set it, why, for how long, and what it held back.
 * A silence of a month is no maintenance window and must not pass unseen;
 * one matching a masked label must not reveal the value in the report.
 */
let receiver: Server;
let meshlog: RunningMeshlog;
let admin: string;

async function call(method: string, path: string, token: string, body?: unknown, tenant = 'acme'): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-scope-orgid': tenant,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function monitoring(from: string, to: string, tenant: string): Promise<ReportSection> {
  const report = (await call(
    'GET',
    `/api/v1/reports/soc2?${new URLSearchParams({ from, to, tenant, format: 'json' })}`,
    admin,
  )) as Soc2Report;
  return report.sections.find((section) => section.id === 'monitoring')!;
}

before(async () => {
  receiver = createServer((request, response) => request.resume().on('end', () => response.writeHead(200).end()));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const dir = tempDataDir('meshlog-report-silences-');
  const config = writeCheckoutAlertingConfig(dir, {
    rules: `      - alert: CheckoutErrors
        expr: sum(count_over_time({service_name="checkout"} |= "error" [1m])) > 0
`,
    webhook: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: 'report-silences-secret' },
    alerting: '  anomaly: { enabled: false }',
    sections: 'masking: { fields: [user_id] }',
  });
  meshlog = await startMeshlog({ args: ['--config', config] });
  admin = (await call('POST', '/api/v1/admin/keys', meshlog.token, { name: 'night shift', roles: ['admin', 'unmasker'], tenants: ['*'] }))
    .key;
});

after(async () => {
  if (meshlog?.process.exitCode === null) await meshlog.stop();
  receiver?.close();
});

test('the monitoring section lists the silences of the period with what they held back, and a month-long one is a finding', async () => {
  const from = new Date(Date.now() - 60_000).toISOString();
  const month = await call('POST', '/api/v1/silences', admin, {
    matchers: { alertname: 'CheckoutErrors' },
    duration: '720h',
    comment: 'card processor migration',
  });
  const maskedMatcher = await call('POST', '/api/v1/silences', admin, {
    matchers: { user_id: 'alice@example.com' },
    duration: '1h',
    comment: 'noisy test user',
  });
  const otherTenant = await call(
    'POST',
    '/api/v1/silences',
    admin,
    { matchers: { alertname: 'X' }, duration: '720h', comment: 'other' },
    'other',
  );

  // The alert fires while the month-long silence holds it back.
  const shipper = (await call('POST', '/api/v1/admin/keys', admin, { name: 'shipper', roles: ['ingester'], tenants: ['acme'] })).key;
  const pushed = await fetch(`${meshlog.url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${shipper}`, 'content-type': 'application/json' },
    body: otlpJsonRequest('checkout', ['POST /pay 500 error: card processor unreachable']),
  });
  assert.equal(pushed.status, 200);
  await waitFor(
    async () => {
      const { attempts } = await call('GET', '/api/v1/alerts/notifications', admin);
      return attempts.some((attempt: { receiver: string }) => attempt.receiver === `silenced by ${month.id}`) || undefined;
    },
    { what: 'the firing notification held back by the silence', intervalMs: 100 },
  );
  const to = new Date(Date.now() + 1000).toISOString();
  await new Promise((resolve) => setTimeout(resolve, 1100));

  const section = await monitoring(from, to, 'acme');
  assert.equal(section.status, 'attention');
  // Every finding is in the reason: the alert was never acknowledged, and a month-long silence muted it.
  assert.match(
    section.reason,
    new RegExp(
      `^1 of 1 alerts that fired were never acknowledged \\(CheckoutErrors\\); 1 silence of more than 7 days muted alerts in the period \\(${month.id} by night shift for 720 h, [1-9]\\d* held back\\)$`,
    ),
  );
  const silences = section.data.silences_in_force as {
    id: string;
    matchers: Record<string, string>;
    created_by: string;
    comment: string;
    hours: number;
    notifications_held: number;
  }[];
  assert.deepEqual(
    silences.map((silence) => [silence.id, silence.created_by, silence.comment, silence.hours]),
    [
      [month.id, 'night shift', 'card processor migration', 720],
      [maskedMatcher.id, 'night shift', 'noisy test user', 1],
    ],
  );
  assert.ok(!silences.some((silence) => silence.id === otherTenant.id), "another tenant's silence is not in acme's report");
  assert.ok(silences[0].notifications_held >= 1);
  assert.deepEqual(silences[1].matchers, { user_id: '[MASKED]' }, 'the report does not reveal a masked value');
  assert.ok(!JSON.stringify(section).includes('alice@example.com'));

  // Expired afterwards: the closed period still reads as it stood at its end.
  await call('DELETE', `/api/v1/silences/${month.id}`, admin);
  const again = await monitoring(from, to, 'acme');
  assert.deepEqual(again.data.silences_in_force, section.data.silences_in_force);
  assert.equal(again.reason, section.reason);
  // Every tenant: the other tenant's month-long silence is a finding too.
  assert.match((await monitoring(from, to, '')).reason, /; 2 silences of more than 7 days muted alerts/);
});
