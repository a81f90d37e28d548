import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
let analystKey: string;
const now = Date.now();
const bulkLines = 100_000;

async function lokiPush(streams: { stream: Record<string, string>; values: string[][] }[]): Promise<void> {
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  assert.equal(response.status, 204, await response.text());
}

const bulkLine = (i: number) => `bulk line ${String(i).padStart(6, '0')} level=info user=u${i % 50}`;

before(async () => {
  meshlog = await startMeshlog();
  const created = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'dana', roles: ['analyst'], tenants: ['default'] }),
  });
  analystKey = ((await created.json()) as { key: string }).key;

  await lokiPush([
    {
      stream: { service_name: 'billing' },
      values: [1, 2, 3].map((n) => [`${now - n * 60_000}000000`, `level=info msg="invoice ${n} issued"`]),
    },
  ]);
  // 100,000 lines from 40 minutes ago, three to a millisecond: pages of 5,000 end inside a millisecond, so paging must neither lose nor repeat lines there.
  const start = now - 40 * 60_000;
  for (let batch = 0; batch < bulkLines; batch += 10_000) {
    const values = Array.from({ length: 10_000 }, (_, j) => [`${start + Math.floor((batch + j) / 3)}000000`, bulkLine(batch + j)]);
    await lokiPush([{ stream: { service_name: 'bulk' }, values }]);
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

const explore = (page: Page, query: string, extra = '') => page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent(query)}${extra}`);

test('an analyst saves a query with its range, finds it after a reload, loads it back with its results, and deletes it; a query shared by another user is listed but not deletable', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  await explore(page, '{service_name="billing"}', '&from=now-6h&to=now');
  await page
    .getByRole('status')
    .filter({ hasText: /^3 lines/ })
    .waitFor();

  // Someone else's query shared with the tenant is listed with its owner, without a Delete.
  const sharedByAdmin = await fetch(`${meshlog.url}/api/v1/saved-queries`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: 'team: billing errors',
      query: '{service_name="billing"} |= "error"',
      from: 'now-24h',
      to: 'now',
      shared: true,
    }),
  });
  assert.equal(sharedByAdmin.status, 201);

  await page.getByRole('button', { name: 'Saved queries' }).click();
  const dialog = page.getByRole('dialog', { name: 'saved queries' });
  const list = dialog.getByRole('list', { name: 'saved query list' });
  await list.getByText('team: billing errors').waitFor();
  assert.match(await list.innerText(), /Last 24 hours · shared · by bootstrap admin/);
  assert.equal(await dialog.getByRole('button', { name: 'delete team: billing errors' }).count(), 0);
  await dialog.getByLabel('saved query name').fill('billing, last 6 hours');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await list.getByText('billing, last 6 hours').waitFor();
  assert.match(await list.innerText(), /\{service_name="billing"\}[\s\S]*Last 6 hours/);
  await screenshot(page, '19-explore-saved-queries');

  // A reload onto another query and range: the saved one is still there and brings back its query, range and lines.
  await explore(page, '{service_name="bulk"}', '&from=now-5m&to=now&limit=100');
  await page
    .getByRole('status')
    .filter({ hasText: /^0 lines/ })
    .waitFor();
  await page.reload();
  await page
    .getByRole('status')
    .filter({ hasText: /^0 lines/ })
    .waitFor();
  await page.getByRole('button', { name: 'Saved queries' }).click();
  await dialog.getByRole('button', { name: /^billing, last 6 hours/ }).click();
  await page.waitForURL((url) => url.searchParams.get('q') === '{service_name="billing"}' && url.searchParams.get('from') === 'now-6h');
  await page
    .getByRole('status')
    .filter({ hasText: /^3 lines/ })
    .waitFor();
  assert.deepEqual((await page.locator('.row .line').allInnerTexts()).sort(), [
    'level=info msg="invoice 1 issued"',
    'level=info msg="invoice 2 issued"',
    'level=info msg="invoice 3 issued"',
  ]);

  await page.getByRole('button', { name: 'Saved queries' }).click();
  await dialog.getByRole('button', { name: 'delete billing, last 6 hours' }).click();
  await list.getByText('billing, last 6 hours').waitFor({ state: 'detached' });
  assert.match(await list.innerText(), /team: billing errors/);
  await page.context().close();
});

test('Explore pages through 100,000 lines past the 5,000-line query cap, keeps the DOM bounded, and expands the last line', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, analystKey);
  await explore(page, '{service_name="bulk"}', '&from=now-1h&to=now&limit=100000');
  const status = page.getByRole('status');
  await status.filter({ hasText: /^100,000 lines \(limit reached\)/ }).waitFor({ timeout: 240_000 });
  const grid = page.getByRole('grid', { name: 'log lines' });
  assert.equal(await grid.getAttribute('aria-rowcount'), String(bulkLines));
  const rowNodes = () => page.locator('.viewport .row').count();
  await page.locator('.row', { hasText: bulkLine(bulkLines - 1) }).waitFor();
  const atTop = await rowNodes();
  assert.ok(atTop > 10 && atTop < 200, `row nodes at the top: ${atTop}`);
  await screenshot(page, '20-explore-100k');

  // The middle: the list is newest first, so row k shows line 99,999 − k.
  await grid.evaluate((viewport) => (viewport.scrollTop = 50_000 * 22));
  await page.locator('.row', { hasText: bulkLine(49_999) }).waitFor();
  const inTheMiddle = await rowNodes();
  assert.ok(inTheMiddle < 200, `row nodes in the middle: ${inTheMiddle}`);

  // The end: the oldest line, once, with its neighbours from the same millisecond.
  await grid.evaluate((viewport) => (viewport.scrollTop = viewport.scrollHeight));
  const last = page.locator('.row', { hasText: bulkLine(0) });
  await last.waitFor();
  assert.equal(await page.locator('.row', { hasText: bulkLine(1) }).count(), 1);
  const atEnd = await rowNodes();
  assert.ok(atEnd < 200, `row nodes at the end: ${atEnd}`);

  await last.click();
  const fields = page.getByRole('table', { name: 'fields' });
  await fields.waitFor();
  await grid.evaluate((viewport) => (viewport.scrollTop = viewport.scrollHeight));
  assert.match(await fields.innerText(), /service_name\s+bulk/);
  assert.equal(await last.getAttribute('aria-expanded'), 'true');
  assert.match(await page.locator('.detail pre').innerText(), new RegExp(bulkLine(0)));
  await screenshot(page, '21-explore-100k-end-expanded');
  await page.context().close();
});
