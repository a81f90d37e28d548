import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { sendSteadily } from '../../support/steadySender.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
let analystKey: string;
const now = Date.now();
const ns = (ms: number) => `${Math.round(ms)}000000`;

async function adminCall(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${meshlog.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

before(async () => {
  const dir = tempDataDir('meshlog-web-admin-');
  // A rule that fires a second after three checkout errors land in its ten-minute window.
  writeFileSync(
    join(dir, 'checkout.rules.yaml'),
    `groups:
  - name: checkout
    interval: 300ms
    tenant: default
    rules:
      - alert: CheckoutErrors
        expr: sum by (service_name) (count_over_time({service_name="checkout"} |= "error" [10m])) > 2
        for: 1s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.service_name }} logged {{ $value }} errors"
      - alert: PaymentsSilent
        expr: sum(count_over_time({service_name="payments"} [10m])) > 1000
        for: 5m
`,
  );
  // Short anomaly buckets so a service that stops sending is a logging-gap anomaly within seconds.
  writeFileSync(
    join(dir, 'meshlog.yaml'),
    `alerting:
  rules_files: [${JSON.stringify(join(dir, 'checkout.rules.yaml'))}]
  anomaly:
    bucket_ms: 300
    warmup_buckets: 2
    baseline_buckets: 20
    silent_buckets: 3
`,
  );
  meshlog = await startMeshlog({ args: ['--config', join(dir, 'meshlog.yaml')] });

  const created = await adminCall('/api/v1/admin/keys', {
    method: 'POST',
    body: { name: 'on-call analyst', roles: ['analyst'], tenants: ['default'] },
  });
  analystKey = ((await created.json()) as { key: string }).key;

  // Real data through Loki's push API: 120 lines over the last half hour from two services, checkout logging errors.
  const streams = ['checkout', 'payments'].map((service) => ({
    stream: { service_name: service, k8s_namespace_name: 'shop' },
    values: Array.from({ length: 60 }, (_, i) => [
      ns(now - 30 * 60_000 + i * 30_000),
      `level=info msg="order ${2000 + i} handled by ${service}" duration_ms=${(i * 13) % 400}`,
    ]),
  }));
  streams[0].values.push(
    ...Array.from({ length: 4 }, (_, i) => [ns(now - 60_000 + i * 1000), `level=error msg="card declined" order=${3000 + i}`]),
  );
  const pushed = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  assert.equal(pushed.status, 204, await pushed.text());

  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

/** The 1280×720 viewport; `andEnd` adds the page scrolled to its end (pages scroll inside the shell, under the top bar). */
async function shot(page: Page, name: string, andEnd = false): Promise<void> {
  await screenshot(page, name);
  if (!andEnd) return;
  await page.locator('.panels').evaluate((panels) => panels.scrollTo(0, panels.scrollHeight));
  await screenshot(page, `${name}-end`);
  await page.locator('.panels').evaluate((panels) => panels.scrollTo(0, 0));
}

test('an admin creates a key on the Admin page, sees its secret once and the key listed, and finds the creation in the audit trail', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Admin' }).click();
  await page.waitForURL(/\/ui\/admin$/);
  await page.getByRole('table', { name: 'api keys' }).waitFor();

  await page.getByLabel('key name').fill('ci shipper');
  await page.getByRole('checkbox', { name: 'analyst' }).uncheck();
  await page.getByRole('checkbox', { name: 'ingester' }).check();
  await page.getByLabel('key tenants').fill('default, staging');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = page.getByRole('status', { name: 'new key' });
  await secret.waitFor();
  const key = (await secret.locator('code').innerText()).trim();
  assert.match(key, /^mlk_[0-9a-f]{12}_/);
  const row = page.getByRole('table', { name: 'api keys' }).getByRole('row', { name: /ci shipper/ });
  await row.waitFor();
  assert.match(await row.innerText(), /ingester\s+default, staging\s+active/);
  await shot(page, '10-admin-keys');

  // The key works, with exactly the roles chosen: it may ship logs and may not query.
  const ingest = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { service_name: 'ci' }, values: [[ns(Date.now()), 'build 17 passed']] }] }),
  });
  assert.equal(ingest.status, 204);
  const query = await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(query.status, 403);

  // The secret is gone once dismissed, and the list never shows it.
  await secret.getByRole('button', { name: 'Done' }).click();
  assert.equal(await page.getByText(key).count(), 0);

  // Revoked after a confirmation: listed as revoked, and refused from then on.
  page.once('dialog', (dialog) => void dialog.accept());
  await row.getByRole('button', { name: 'revoke ci shipper' }).click();
  await row.locator('.state.revoked').waitFor();
  const afterRevoke = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { service_name: 'ci' }, values: [[ns(Date.now()), 'build 18 passed']] }] }),
  });
  assert.equal(afterRevoke.status, 401);

  // The tabs follow the arrow keys.
  await page.getByRole('tab', { name: 'API keys' }).focus();
  await page.keyboard.press('ArrowLeft');
  await page.waitForURL(/tab=audit/);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Audit trail');
  await page.getByLabel('audit action').fill('keys.create');
  await page.getByRole('button', { name: 'Filter' }).click();
  const events = page.getByRole('table', { name: 'audit events' });
  // Both keys created so far, and nothing else.
  await page.getByText('2 events', { exact: true }).waitFor();
  const eventsText = await events.innerText();
  assert.ok(!eventsText.includes('auth.login'), 'filtered by action');
  assert.match(
    eventsText,
    /keys\.create\s+success\s+bootstrap admin[\s\S]*"name":"ci shipper","roles":\["ingester"\],"tenants":\["default","staging"\]/,
  );
  await shot(page, '11-admin-audit');

  await page.getByRole('tab', { name: 'Retention and legal holds' }).click();
  await page.getByLabel('hold name').fill('litigation 2026-41');
  await page.getByLabel('hold service').fill('payments');
  await page.getByLabel('hold reason').fill('preserve payments logs for counsel');
  await page.getByRole('button', { name: 'Place hold' }).click();
  await page.getByRole('table', { name: 'holds' }).getByText('litigation 2026-41').waitFor();
  assert.match(await page.getByRole('table', { name: 'policies' }).innerText(), /default\s+any\s+any\s+any\s+30 days/);
  await shot(page, '12-admin-retention');
  const holds = (await (await adminCall('/api/v1/admin/retention')).json()) as {
    holds: { name: string; service: string; created_by: string }[];
  };
  assert.deepEqual(
    holds.holds.map((hold) => [hold.name, hold.service, hold.created_by]),
    [['litigation 2026-41', 'payments', 'bootstrap admin']],
  );

  // Erase the line the new key shipped: requested, then executed at once (the confirmation is a browser dialog).
  await page.getByRole('tab', { name: 'Erasure requests' }).click();
  const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  await page.getByLabel('erasure selector').fill('{service_name="ci"}');
  await page.getByLabel('erasure from').fill(minute(Date.now() - 3_600_000));
  await page.getByLabel('erasure to').fill(minute(Date.now() + 60_000));
  await page.getByLabel('erasure reason').fill('data subject request DSR-7');
  await page.getByRole('button', { name: 'Request erasure' }).click();
  const request = page.getByRole('table', { name: 'erasure request list' }).getByRole('row', { name: /DSR-7/ });
  await request.locator('.state.pending').waitFor();
  page.once('dialog', (dialog) => void dialog.accept());
  await request.getByRole('button', { name: 'Execute now' }).click();
  await request.locator('.state.resolved').waitFor();
  assert.match(await request.innerText(), /executed[\s\S]*by bootstrap admin, 1 records erased/);
  await shot(page, '12b-admin-erasure');
  const left = await adminCall(
    `/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="ci"}', start: String((Date.now() - 3_600_000) * 1e6), end: String(Date.now() * 1e6) })}`,
  );
  assert.deepEqual(((await left.json()) as { data: { result: unknown[] } }).data.result, []);
  await page.context().close();
});

test('an analyst is refused the Admin page: no link, a refusal in the page, and 403 from the server', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  const nav = page.getByRole('navigation', { name: 'pages' });
  await nav.getByRole('link', { name: 'Alerts' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Admin' }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: 'Compliance' }).count(), 0);

  await page.goto(`${meshlog.url}/ui/admin`);
  await page.getByText('may not open Admin').waitFor();
  assert.equal(await page.getByRole('table', { name: 'api keys' }).count(), 0);
  await shot(page, '13-admin-refused');

  const answers = await page.evaluate(async () => {
    const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
    const list = await fetch('/api/v1/admin/keys');
    const hold = await fetch('/api/v1/admin/legal-holds', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
      body: JSON.stringify({ name: 'x', tenant: 'default', reason: 'x' }),
    });
    const audit = await fetch('/api/v1/audit');
    return { list: list.status, listBody: await list.text(), hold: hold.status, audit: audit.status };
  });
  assert.deepEqual([answers.list, answers.hold, answers.audit], [403, 403, 403]);
  assert.match(answers.listBody, /admin needs one of the roles admin; on-call analyst has analyst/);
  await page.context().close();
});

test('the Alerts page shows the rule firing, its history, and an admin silences it', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/alerts`);
  const rules = page.getByRole('table', { name: 'alert rules' });
  // The page refreshes itself: the rule goes inactive → pending → firing without a reload.
  const checkout = rules.getByRole('row', { name: /CheckoutErrors/ });
  await checkout.locator('.state.firing').waitFor({ timeout: 60_000 });
  assert.match(await checkout.innerText(), /firing since .*value 4/);
  assert.match(await rules.getByRole('row', { name: /PaymentsSilent/ }).innerText(), /inactive/);
  const history = page.getByRole('table', { name: 'alert history' });
  await history.getByRole('row', { name: /CheckoutErrors\s+firing/ }).waitFor();
  assert.match(await history.innerText(), /CheckoutErrors\s+pending/);
  assert.match(await history.innerText(), /checkout logged 4 errors/);

  // Whoever is on call takes it on; the acknowledgement is stored, shown, and audited.
  const firing = page.getByRole('table', { name: 'firing alerts' }).getByRole('row', { name: /CheckoutErrors/ });
  page.once('dialog', (dialog) => void dialog.accept('looking at the card processor'));
  await firing.getByRole('button', { name: 'Acknowledge' }).click();
  await firing.getByText(/by bootstrap admin after \d+ s/).waitFor();
  const acknowledged = (await (await adminCall('/api/v1/audit?action=alert.acknowledge')).json()) as { events: { detail: string }[] };
  assert.equal(acknowledged.events.length, 1);
  assert.equal(JSON.parse(acknowledged.events[0]!.detail).comment, 'looking at the card processor');

  await page.getByPlaceholder('alertname=CheckoutErrors, service_name=checkout').fill('alertname=CheckoutErrors, service_name=checkout');
  await page.getByPlaceholder('planned maintenance').fill('card processor outage, vendor ticket 8812');
  await page.getByRole('button', { name: 'Silence' }).click();
  const silences = page.getByRole('table', { name: 'silences' });
  await silences.getByText('card processor outage').waitFor();
  assert.match(await silences.innerText(), /alertname=CheckoutErrors, service_name=checkout/);
  await shot(page, '14-alerts', true);

  await silences.getByRole('button', { name: 'Expire' }).click();
  await silences.getByText('ended').waitFor();
  await page.context().close();
});

test('the Compliance page shows the SOC 2 dashboard and downloads a report whose content covers the data sent', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/compliance`);
  const coverage = page.getByRole('table', { name: 'coverage by service' });
  await coverage.waitFor({ timeout: 60_000 });
  assert.match(await coverage.getByRole('row', { name: /checkout/ }).innerText(), /checkout\s+default[\s\S]*loki\s+64/);
  await page.getByRole('table', { name: 'chain heads' }).getByText('default/').first().waitFor();
  assert.match(await page.getByRole('region', { name: 'integrity' }).innerText(), /verified/);
  assert.match(await page.getByRole('table', { name: 'keys at period end' }).innerText(), /on-call analyst/);
  assert.match(await page.getByRole('table', { name: 'control summary' }).innerText(), /Logging coverage/);
  await shot(page, '15-compliance', true);

  await page.getByLabel('report format').selectOption('json');
  const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download report' }).click()]);
  assert.match(jsonDownload.suggestedFilename(), /^meshlog-soc2-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.json$/);
  const report = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8')) as {
    report: string;
    sections: { id: string; data: { services?: { service: string; records: number }[] } }[];
    signature?: unknown;
  };
  assert.equal(report.report, 'soc2');
  const services = report.sections.find((section) => section.id === 'coverage')!.data.services!;
  assert.deepEqual(
    services
      .filter((service) => service.service !== 'ci')
      .map((service) => [service.service, service.records])
      .sort(),
    [
      ['checkout', 64],
      ['payments', 60],
    ],
  );
  assert.ok(report.signature, 'the JSON evidence is signed');

  // The default download is the signed bundle: every format of one generation with its signature, verifiable offline.
  assert.equal(await page.getByLabel('report format').locator('option').count(), 2, 'only signed downloads are offered');
  await page.getByLabel('report format').selectOption('bundle');
  const [bundleDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download report' }).click()]);
  assert.match(bundleDownload.suggestedFilename(), /^meshlog-soc2-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.zip$/);
  const bundlePath = (await bundleDownload.path())!;
  const pdf = Buffer.from(unzipSync(readFileSync(bundlePath))['soc2-report.pdf']!);
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.ok(pdf.length > 10_000, `a PDF of ${pdf.length} bytes`);
  const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
  const verified = spawnSync(
    process.execPath,
    [cli, 'report', 'verify', bundlePath, '--public-key', `${meshlog.dataDir}-signing.key.pub`],
    { encoding: 'utf8' },
  );
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /OK .*soc2-report\.pdf: report file/);

  const generations = (await (await adminCall('/api/v1/audit?action=report.generate')).json()) as { events: { detail: string }[] };
  assert.ok(
    generations.events.some((event) => JSON.parse(event.detail).format === 'bundle'),
    'the download is in the audit trail',
  );
  await page.context().close();
});

test('opening the Compliance page twice generates its report once; Refresh generates a new one', async () => {
  const dashboardGenerations = async () => {
    const answer = (await (await adminCall('/api/v1/audit?action=report.generate&since=1h')).json()) as { events: { detail: string }[] };
    return answer.events.filter((event) => JSON.parse(event.detail).dashboard === true).length;
  };
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  // A report downloaded from the page starts the dashboard afresh.
  const downloaded = await adminCall(`/api/v1/reports/soc2?from=${new Date(now - 3_600_000).toISOString()}&format=json`);
  assert.equal(downloaded.status, 200);
  const before = await dashboardGenerations();

  await page.goto(`${meshlog.url}/ui/compliance`);
  const generatedAt = page.getByLabel('report generated at');
  await generatedAt.waitFor({ timeout: 60_000 });
  const first = await generatedAt.innerText();
  assert.equal(await dashboardGenerations(), before + 1);
  assert.doesNotMatch(first, /kept/);

  await page.goto(`${meshlog.url}/ui/explore`);
  await page.goto(`${meshlog.url}/ui/compliance`);
  await generatedAt.waitFor({ timeout: 60_000 });
  assert.match(await generatedAt.innerText(), /kept for a few minutes/);
  assert.equal(
    (await generatedAt.innerText()).replace(' (kept for a few minutes)', ''),
    first,
    'the same report, generated at the same time',
  );
  await page.getByRole('table', { name: 'control summary' }).waitFor();
  assert.equal(await dashboardGenerations(), before + 1, 'opened twice, generated once');
  await shot(page, '15b-compliance-cached');

  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.waitForFunction((previous) => {
    const label = document.querySelector('[aria-label="report generated at"]')?.textContent ?? '';
    return label !== '' && !label.includes('kept') && label !== previous;
  }, first);
  assert.equal(await dashboardGenerations(), before + 2);
  await page.context().close();
});

test('the Patterns page lists top and new patterns linked to Explore, in the light theme', async () => {
  const page = await newPage(browser, { colorScheme: 'light' });
  await logIn(page, meshlog.url, analystKey);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
  await page.goto(`${meshlog.url}/ui/patterns`);
  const top = page.getByRole('table', { name: 'top patterns' });
  const pattern = top.getByRole('link', { name: /order <\*> handled by checkout/ });
  await pattern.waitFor({ timeout: 60_000 });
  await page
    .getByRole('table', { name: 'new patterns' })
    .getByRole('link', { name: /card declined/ })
    .waitFor();
  await shot(page, '16-patterns-light');

  await pattern.click();
  await page.waitForURL(/\/ui\/explore\?q=/);
  assert.match(new URL(page.url()).searchParams.get('q')!, /^\{service_name="checkout"\} \|= "[^"]*handled by checkout/);
  await page.getByRole('status').filter({ hasText: '60 lines' }).waitFor();

  await page.goto(`${meshlog.url}/ui/alerts`);
  await page.getByRole('table', { name: 'alert rules' }).waitFor();
  await page.getByRole('table', { name: 'alert history' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'silences' }).count(), 0, 'silences are for admins');
  await shot(page, '17-alerts-analyst-light');
  await page.context().close();
});

test('an anomaly is shown with its explanation and links to the data behind it in Explore', async () => {
  // billing sends for two seconds over OTLP/HTTP, then stops: a logging gap.
  // (Sends do not wait for each other, so a slow server on a loaded machine still gets one every 50 ms.)
  await sendSteadily((i) => postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('billing', [`invoice ${i} issued`])), 2000);
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  await page.goto(`${meshlog.url}/ui/alerts`);
  const anomaly = page.getByRole('table', { name: 'anomalies' }).getByRole('row', { name: /silent service\s+billing/ });
  await anomaly.waitFor({ timeout: 60_000 });
  assert.match(
    await anomaly.innerText(),
    /firing\s+no records for 3 buckets of 0\.3s; it used to send a median of [\d.]+ per bucket: a logging gap\s+CC7\.2, CC7\.3/,
  );
  await shot(page, '18-alerts-anomaly');

  await anomaly.getByRole('link', { name: 'Explore the data' }).click();
  await page.waitForURL(/\/ui\/explore\?/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('q'), '{service_name="billing"}');
  assert.ok(Number(url.searchParams.get('from')) < Date.now() - 29 * 60_000, 'from half an hour before the anomaly');
  await page.locator('.row', { hasText: 'invoice 0 issued' }).waitFor();
  await page.context().close();
});
