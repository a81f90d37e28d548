import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

/**
 * The incident workspace in the browser: an incident an alert opened is
 * worked from its page, a line is pinned to it from Explore, and the signed
 * bundle downloaded from the page verifies offline.
 */
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;
let browser: Browser;
let dir: string;
let analystKey: string;

async function api(method: string, path: string, body?: unknown, token = meshlog.token): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

before(async () => {
  dir = tempDataDir('meshlog-web-incidents-');
  writeFileSync(
    join(dir, 'rules.yaml'),
    `groups:
  - name: payments
    interval: 300ms
    rules:
      - alert: PaymentTimeouts
        expr: sum by (service_name) (count_over_time({service_name="payments"} |= "timeout" [1m])) > 2
        labels:
          severity: high
        annotations:
          summary: "{{ $labels.service_name }} timed out {{ $value }} times"
        open_incident: true
`,
  );
  writeFileSync(join(dir, 'meshlog.yaml'), `alerting:\n  rules_files: [${JSON.stringify(join(dir, 'rules.yaml'))}]\n`);
  meshlog = await startMeshlog({ args: ['--config', join(dir, 'meshlog.yaml')] });
  analystKey = (await api('POST', '/api/v1/admin/keys', { name: 'on-call', roles: ['analyst'], tenants: ['default'] })).key;
  const lines = [...Array.from({ length: 3 }, (_, i) => `gateway timeout after 30s (order ${700 + i})`), 'card authorized (order 703)'];
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('payments', lines))).status, 200);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

test('an incident opened by an alert is listed and worked from its page: the alert linked, a note and a state change on the timeline', async () => {
  const incident = await waitFor(
    async () => ((await api('GET', '/api/v1/incidents')).incidents as any[]).find((candidate) => candidate.source === 'alert'),
    { what: 'the alert to open an incident' },
  );
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Incidents' }).click();
  const row = page.getByRole('table', { name: 'incident list' }).locator(`tr[data-incident="${incident.id}"]`);
  await row.getByText('PaymentTimeouts: payments timed out 3 times').waitFor();
  assert.match(await row.innerText(), /high\s+open/);
  await screenshot(page, 'incidents-01-list');

  await row.getByRole('link').click();
  await page.waitForURL(new RegExp(`/ui/incidents/${incident.id}$`));
  await page.getByRole('region', { name: 'linked alerts' }).getByText('PaymentTimeouts').waitFor();
  await page.getByLabel('note').fill('gateway provider status page shows degraded');
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.getByRole('button', { name: 'Mark mitigated' }).click();
  const timeline = page.getByRole('table', { name: 'timeline events' });
  await timeline.locator('tr[data-kind="state"]').getByText('open → mitigated').waitFor();
  assert.deepEqual(await timeline.locator('tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-kind'))), [
    'opened',
    'alert_firing',
    'note',
    'state',
  ]);
  await page
    .getByRole('region', { name: 'incident facts' })
    .getByText(/^mitigated/)
    .waitFor();
  await screenshot(page, 'incidents-02-detail');
  const stored = (await api('GET', `/api/v1/incidents/${incident.id}`)).incident;
  assert.equal(stored.state, 'mitigated');
  assert.equal(stored.acknowledged_by, 'on-call');
});

test('a line selected in Explore is pinned to an open incident, which then lists it', async () => {
  const { incident } = await api('POST', '/api/v1/incidents', { title: 'card authorizations slow', severity: 'medium' }, analystKey);
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('{service_name="payments"}')}`);
  await page.locator('.row').filter({ hasText: 'card authorized (order 703)' }).click();
  await page.getByRole('button', { name: 'Pin to incident' }).click();
  const dialog = page.getByRole('dialog', { name: 'pin to incident' });
  await dialog.getByLabel('incident').selectOption(incident.id);
  await dialog.getByLabel('pin note').fill('authorized after the timeouts');
  await dialog.getByRole('button', { name: 'Pin' }).click();
  await dialog.getByRole('status').getByText('card authorizations slow').waitFor();
  await screenshot(page, 'incidents-03-pinned-from-explore');

  await dialog.getByRole('link', { name: 'card authorizations slow' }).click();
  const pins = page.getByRole('region', { name: 'pinned evidence' });
  await pins.getByText('card authorized (order 703)').waitFor();
  const stored = (await api('GET', `/api/v1/incidents/${incident.id}`)).incident;
  assert.equal(stored.pins.length, 1);
  assert.equal(stored.pins[0].kind, 'line');
  assert.equal(stored.pins[0].line, 'card authorized (order 703)');
  assert.equal(stored.pins[0].note, 'authorized after the timeouts');
  assert.equal(stored.pins[0].pinned_by, 'on-call');
});

test('a trace, a live tail line and a mined pattern are pinned from their own pages to one incident', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const traced = otlpJsonRequest('payments', ['refund issued (order 704)'], { traceId });
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, traced)).status, 200);
  const { incident } = await api('POST', '/api/v1/incidents', { title: 'refunds stuck', severity: 'low' }, analystKey);
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  const pinWith = async (button: ReturnType<typeof page.getByRole>) => {
    await button.click();
    const dialog = page.getByRole('dialog', { name: 'pin to incident' });
    await dialog.getByLabel('incident').selectOption(incident.id);
    await dialog.getByRole('button', { name: 'Pin' }).click();
    await dialog.getByRole('status').getByText('refunds stuck').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
  };

  await page.goto(`${meshlog.url}/ui/trace/${traceId}`);
  await pinWith(page.getByRole('button', { name: 'Pin to incident' }));

  await page.goto(`${meshlog.url}/ui/tail?q=${encodeURIComponent('{service_name="payments"}')}`);
  const tailed = page.getByRole('log', { name: 'live lines' }).locator('div').filter({ hasText: 'refund issued (order 704)' });
  await tailed.waitFor({ timeout: 60_000 });
  await pinWith(tailed.getByRole('button', { name: 'pin to incident' }));

  await page.goto(`${meshlog.url}/ui/patterns?service=payments`);
  // Patterns are mined at ingest and listed once flushed.
  const mined = page.getByRole('table', { name: 'top patterns' }).getByRole('row').filter({ hasText: 'gateway timeout' });
  await mined.first().waitFor({ timeout: 60_000 });
  await pinWith(mined.first().getByRole('button', { name: 'Pin', exact: true }));
  await screenshot(page, 'incidents-04-pinned-from-patterns');

  const stored = (await api('GET', `/api/v1/incidents/${incident.id}`)).incident;
  const byKind = Object.fromEntries(stored.pins.map((pin: { kind: string }) => [pin.kind, pin]));
  assert.deepEqual(Object.keys(byKind).sort(), ['line', 'pattern', 'trace']);
  assert.equal(byKind.trace.trace_id, traceId);
  assert.equal(byKind.line.line, 'refund issued (order 704)');
  assert.equal(byKind.pattern.service, 'payments');
  assert.match(byKind.pattern.pattern, /gateway timeout/);
});

test('the signed bundle downloaded from an incident page verifies offline with meshlog report verify', async () => {
  const { incident } = await api('POST', '/api/v1/incidents', { title: 'export from the page' }, analystKey);
  const [[time, line]] = (
    await api('GET', `/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="payments"} |= "order 700"', since: '1h' })}`)
  ).data.result[0].values;
  await api('POST', `/api/v1/incidents/${incident.id}/pins`, { kind: 'line', timestamp_ns: time, line }, analystKey);
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  await page.goto(`${meshlog.url}/ui/incidents/${incident.id}`);
  await page.getByRole('region', { name: 'pinned evidence' }).getByText('order 700').waitFor();
  const downloading = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export signed bundle' }).click();
  const download = await downloading;
  const file = join(dir, download.suggestedFilename());
  await download.saveAs(file);
  assert.equal(download.suggestedFilename(), `incident-${incident.id}.json`);
  const run = spawnSync(process.execPath, [cli, 'report', 'verify', file, '--public-key', `${meshlog.dataDir}-signing.key.pub`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^OK .*1 pinned records/m);
  // The export is on the timeline the page shows.
  await page.reload();
  await page.getByRole('table', { name: 'timeline events' }).locator('tr[data-kind="exported"]').waitFor();
});

test("an admin's navigation with Incidents fits 1280 px without scrolling", async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  const nav = page.getByRole('navigation', { name: 'pages' });
  await nav.getByRole('link', { name: 'Incidents' }).waitFor();
  const { scroll, client } = await nav.evaluate((element) => ({ scroll: element.scrollWidth, client: element.clientWidth }));
  assert.ok(scroll <= client, `the navigation needs ${scroll} px and has ${client} px`);
  const logOut = (await page.getByRole('button', { name: 'Log out' }).boundingBox())!;
  assert.ok(logOut.x + logOut.width <= 1280, `Log out ends at ${logOut.x + logOut.width} px`);
});
