import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
let twoTenantAnalyst: string;
const now = Date.now();
const ns = (ms: number) => `${Math.round(ms)}000000`;

async function asAdmin(
  path: string,
  tenant: string,
  init: { method?: string; body?: string; contentType?: string } = {},
): Promise<Response> {
  return fetch(`${meshlog.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': tenant, 'Content-Type': init.contentType ?? 'application/json' },
    body: init.body,
  });
}

async function push(tenant: string, service: string, lines: string[]): Promise<void> {
  const values = lines.map((line, i) => [ns(now - 20 * 60_000 + i * 10_000), line]);
  const pushed = await asAdmin('/loki/api/v1/push', tenant, {
    method: 'POST',
    body: JSON.stringify({ streams: [{ stream: { service_name: service }, values }] }),
  });
  assert.equal(pushed.status, 204, await pushed.text());
}

before(async () => {
  meshlog = await startMeshlog();
  await push(
    'default',
    'web',
    Array.from({ length: 5 }, (_, i) => `level=info msg="default tenant page ${i} served"`),
  );
  await push(
    'acme',
    'billing',
    Array.from({ length: 7 }, (_, i) => `level=warn msg="acme invoice ${i} overdue"`),
  );
  const rule = await asAdmin('/loki/api/v1/rules/billing', 'acme', {
    method: 'POST',
    contentType: 'application/yaml',
    body: 'name: invoices\ninterval: 1m\nrules:\n  - alert: AcmeInvoicesOverdue\n    expr: sum(count_over_time({service_name="billing"} |= "overdue" [5m])) > 100\n',
  });
  assert.equal(rule.status, 202, await rule.text());
  const created = await asAdmin('/api/v1/admin/keys', 'default', {
    method: 'POST',
    body: JSON.stringify({ name: 'two-tenant analyst', roles: ['analyst'], tenants: ['default', 'acme'] }),
  });
  assert.equal(created.status, 201);
  twoTenantAnalyst = ((await created.json()) as { key: string }).key;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

const lineCount = (page: Page, count: number) =>
  page
    .getByRole('status')
    .filter({ hasText: new RegExp(`^${count} lines`) })
    .waitFor();

test('an admin holding * picks tenant acme: Explore, Alerts, Patterns and Live tail show acme, and a silence lands in acme', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('{service_name=~".+"}')}`);
  await lineCount(page, 5);
  await page.getByLabel('tenant').fill('acme');
  await page.getByLabel('tenant').press('Enter');
  await page.waitForURL(/tenant=acme/);
  await lineCount(page, 7);
  assert.equal(await page.locator('.row').filter({ hasText: 'default tenant page' }).count(), 0, 'no line of tenant default');
  await page.locator('.row').filter({ hasText: 'acme invoice 3 overdue' }).waitFor();
  await screenshot(page, 'tenant-01-admin-explore-acme');
  // An admin's whole top bar (every page, the picker, who is logged in) fits the 1280 px width.
  const logOut = (await page.getByRole('button', { name: 'Log out' }).boundingBox())!;
  assert.ok(logOut.x + logOut.width <= 1280, `Log out ends at ${logOut.x + logOut.width} px`);
  assert.equal((await page.locator('.topbar').boundingBox())!.height < 60, true, 'one line');
  // The export link is followed by the browser without the header: it names the tenant in its query.
  const exported = await page.evaluate(async () => (await fetch(document.querySelector<HTMLAnchorElement>('a[download]')!.href)).text());
  assert.equal(exported.trim().split('\n').length, 7, exported);
  assert.match(exported, /acme invoice 0 overdue/);

  // Navigation keeps the tenant: each page reads acme.
  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Alerts' }).click();
  await page.waitForURL(/\/ui\/alerts\?tenant=acme$/);
  await page.getByRole('table', { name: 'alert rules' }).getByText('AcmeInvoicesOverdue').waitFor();

  await page.getByLabel('Matchers').fill('alertname=AcmeInvoicesOverdue');
  await page.getByLabel('Why').fill('invoice run rescheduled');
  await page.getByRole('button', { name: 'Silence' }).click();
  await page.getByRole('table', { name: 'silences' }).getByText('invoice run rescheduled').waitFor();
  await screenshot(page, 'tenant-02-admin-alerts-acme');
  const silencesOf = async (tenant: string) =>
    ((await (await asAdmin('/api/v1/silences', tenant)).json()) as { silences: { comment: string }[] }).silences.map(
      (silence) => silence.comment,
    );
  assert.deepEqual(await silencesOf('acme'), ['invoice run rescheduled']);
  assert.deepEqual(await silencesOf('default'), [], 'nothing lands in default');

  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Patterns' }).click();
  await page.waitForURL(/\/ui\/patterns\?tenant=acme$/);
  await page
    .getByRole('table', { name: 'top patterns' })
    .getByText(/acme invoice/)
    .first()
    .waitFor();
  assert.equal(
    await page
      .getByRole('table', { name: 'top patterns' })
      .getByText(/default tenant page/)
      .count(),
    0,
  );
  await screenshot(page, 'tenant-03-admin-patterns-acme');

  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Live tail' }).click();
  await page.waitForURL(/\/ui\/tail\?tenant=acme$/);
  await page.getByRole('log').getByText('acme invoice 6 overdue').waitFor();
  assert.equal(await page.getByRole('log').getByText('default tenant page').count(), 0);

  // Back to default: the same pages read default again.
  await page.getByLabel('tenant').fill('default');
  await page.getByLabel('tenant').press('Enter');
  await page.waitForURL(/tenant=default/);
  await page.getByRole('log').getByText('default tenant page 4 served').waitFor();
  await page.context().close();
});

test('an analyst holding default and acme chooses acme from a list, and the link they share opens acme', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, twoTenantAnalyst);
  await page.goto(`${meshlog.url}/ui/explore`);
  await lineCount(page, 5);
  const picker = page.getByLabel('tenant');
  assert.deepEqual(await picker.locator('option').allInnerTexts(), ['default', 'acme']);
  await picker.selectOption('acme');
  await page.waitForURL(/tenant=acme/);
  await lineCount(page, 7);
  await screenshot(page, 'tenant-04-analyst-explore-acme');

  // A fresh page from the URL alone shows the same tenant.
  const shared = page.url();
  const other = await newPage(browser);
  await logIn(other, meshlog.url, twoTenantAnalyst);
  await other.goto(shared);
  await lineCount(other, 7);
  assert.equal(await other.getByLabel('tenant').inputValue(), 'acme');

  // A tenant the credential lacks is refused by the server, and said so.
  await other.goto(`${meshlog.url}/ui/explore?tenant=globex`);
  await other.getByText(/may not act on tenant "globex"/).waitFor();
  await screenshot(other, 'tenant-05-analyst-refused-tenant');
  await other.context().close();
  await page.context().close();
});

test('a credential with one tenant has no tenant picker', async () => {
  const created = await asAdmin('/api/v1/admin/keys', 'default', {
    method: 'POST',
    body: JSON.stringify({ name: 'acme only', roles: ['analyst'], tenants: ['acme'] }),
  });
  const key = ((await created.json()) as { key: string }).key;
  const page = await newPage(browser);
  await logIn(page, meshlog.url, key);
  await page.goto(`${meshlog.url}/ui/explore`);
  await lineCount(page, 7);
  assert.equal(await page.getByLabel('tenant').count(), 0);
  await page.context().close();
});

test('a tenant named in the query string is held to the credential, and never selects the tenant of a write', async () => {
  const read = (tenant: string) =>
    fetch(`${meshlog.url}/loki/api/v1/labels?X-Scope-OrgID=${tenant}`, { headers: { Authorization: `Bearer ${twoTenantAnalyst}` } });
  assert.equal((await read('acme')).status, 200);
  const refused = await read('globex');
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /may not act on tenant "globex"/);
  // A push naming acme only in its query lands in the credential's first tenant (here the admin's `default`), as Loki would.
  const pushed = await fetch(`${meshlog.url}/loki/api/v1/push?X-Scope-OrgID=acme`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      streams: [{ stream: { service_name: 'query-string-push' }, values: [[ns(Date.now()), 'pushed without a header']] }],
    }),
  });
  assert.equal(pushed.status, 204);
  const inAcme = await asAdmin(
    `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="query-string-push"}')}&since=1h`,
    'acme',
  );
  assert.equal(((await inAcme.json()) as { data: { result: unknown[] } }).data.result.length, 0);
  const inDefault = await asAdmin(
    `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="query-string-push"}')}&since=1h`,
    'default',
  );
  assert.equal(((await inDefault.json()) as { data: { result: unknown[] } }).data.result.length, 1);
});
