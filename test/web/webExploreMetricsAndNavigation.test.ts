import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
const now = Date.now();
const ns = (ms: number) => `${Math.round(ms)}000000`;

before(async () => {
  meshlog = await startMeshlog();
  // checkout logs a line a minute for the last hour, payments one every two minutes: two series of different heights.
  const streams = [
    { stream: { service_name: 'checkout' }, values: Array.from({ length: 60 }, (_, i) => [ns(now - 60 * 60_000 + i * 60_000 + 500), `level=info msg="checkout step ${i}"`]) },
    { stream: { service_name: 'payments' }, values: Array.from({ length: 30 }, (_, i) => [ns(now - 60 * 60_000 + i * 120_000 + 700), `level=error msg="payment attempt ${i} failed"`]) },
  ];
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

test('a metric query in Explore is graphed, one line and one legend entry per series; a legend entry shows its series alone', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  const query = 'sum by (service_name) (count_over_time({service_name=~".+"} [5m]))';
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent(query)}&from=now-1h&to=now`);
  await page.getByRole('status').filter({ hasText: /^2 series/ }).waitFor();
  const graph = page.getByRole('img', { name: 'metric graph' });
  assert.equal(await graph.locator('path.series').count(), 2);
  for (const path of await graph.locator('path.series').all()) assert.ok(((await path.getAttribute('d')) ?? '').split('L').length > 20, 'a line over many steps');
  const legend = page.getByRole('list', { name: 'series' });
  assert.deepEqual((await legend.locator('.mono').allInnerTexts()).sort(), ['{service_name="checkout"}', '{service_name="payments"}']);
  // The last five minutes hold 4 or 5 of checkout's line a minute (the newest is a minute old), 2 or 3 of payments' one every two.
  assert.match(await legend.getByRole('button', { name: /checkout/ }).innerText(), /last [45]$/);
  assert.match(await legend.getByRole('button', { name: /payments/ }).innerText(), /last [23]$/);
  await screenshot(page, 'metric-01-graph');

  await legend.getByRole('button', { name: /payments/ }).click();
  await page.waitForFunction(() => document.querySelectorAll('svg[aria-label="metric graph"] path.series').length === 1);
  assert.equal(await graph.locator('path.series title').textContent(), '{service_name="payments"}');
  await legend.getByRole('button', { name: /payments/ }).click();
  await page.waitForFunction(() => document.querySelectorAll('svg[aria-label="metric graph"] path.series').length === 2);

  // Nothing matched: said so, not an empty frame.
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('sum(count_over_time({service_name="absent"} [5m]))')}`);
  await page.getByRole('status').filter({ hasText: /^0 series/ }).waitFor();
  await page.getByText('No series: the query matched nothing in this range.').waitFor();
  await screenshot(page, 'metric-02-empty');

  // A metric query with a mistake shows the server's parse error inline.
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('sum(count_over_time({service_name="checkout"} [5m])')}`);
  await page.locator('.parse-error').waitFor();
  await page.context().close();
});
