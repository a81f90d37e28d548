import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
const now = Date.now();
const ns = (ms: number) => `${Math.round(ms)}000000`;

before(async () => {
  meshlog = await startMeshlog();
  // checkout logs a line a minute for the last hour, payments one every two minutes: two series of different heights.
  const streams = [
    {
      stream: { service_name: 'checkout' },
      values: Array.from({ length: 60 }, (_, i) => [ns(now - 60 * 60_000 + i * 60_000 + 500), `level=info msg="checkout step ${i}"`]),
    },
    {
      stream: { service_name: 'payments' },
      values: Array.from({ length: 30 }, (_, i) => [
        ns(now - 60 * 60_000 + i * 120_000 + 700),
        `level=error msg="payment attempt ${i} failed"`,
      ]),
    },
    // 250 lines, most three to an instant, so pages of 100 end inside an instant (lines 149-151 share one).
    {
      stream: { service_name: 'bulk' },
      values: Array.from({ length: 250 }, (_, i) => [
        ns(now - 50 * 60_000 + Math.floor((i + 1) / 3) * 10_000),
        `level=info msg="bulk line ${i} end"`,
      ]),
    },
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
  const query = 'sum by (service_name) (count_over_time({service_name=~"checkout|payments"} [5m]))';
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent(query)}&from=now-1h&to=now`);
  await page
    .getByRole('status')
    .filter({ hasText: /^2 series/ })
    .waitFor();
  const graph = page.getByRole('img', { name: 'metric graph' });
  assert.equal(await graph.locator('path.series').count(), 2);
  for (const path of await graph.locator('path.series').all())
    assert.ok(((await path.getAttribute('d')) ?? '').split('L').length > 20, 'a line over many steps');
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
  await page
    .getByRole('status')
    .filter({ hasText: /^0 series/ })
    .waitFor();
  await page.getByText('No series: the query matched nothing in this range.').waitFor();
  await screenshot(page, 'metric-02-empty');

  // A metric query with a mistake shows the server's parse error inline.
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('sum(count_over_time({service_name="checkout"} [5m])')}`);
  await page.locator('.parse-error').waitFor();
  await page.context().close();
});

test('at the limit, "load older lines" appends the next lines (none twice) until the range has no more', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('{service_name="bulk"}')}&from=now-1h&to=now&limit=100`);
  await page
    .getByRole('status')
    .filter({ hasText: /^100 lines \(limit reached\)/ })
    .waitFor();
  await page.getByRole('button', { name: 'Load 100 older lines' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /^200 lines \(100 older loaded\)/ })
    .waitFor();
  await page.getByRole('button', { name: 'Load 100 older lines' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /^250 lines \(150 older loaded\)/ })
    .waitFor();
  await page.getByText('no older lines in this range').waitFor();
  assert.equal(await page.getByRole('button', { name: /older lines/ }).count(), 0);
  // Every line once: the list's lines, read by scrolling through it, are the 250 distinct ones.
  const seen = await page.locator('.viewport').evaluate(async (viewport) => {
    const lines = new Set<string>();
    for (let top = 0; top <= viewport.scrollHeight; top += viewport.clientHeight / 2) {
      viewport.scrollTo(0, top);
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      for (const row of Array.from(viewport.querySelectorAll('.row .line'))) lines.add(row.textContent ?? '');
    }
    return [...lines];
  });
  assert.equal(seen.length, 250);
  assert.equal(new Set(seen.map((line) => /bulk line (\d+) /.exec(line)?.[1])).size, 250);
  await screenshot(page, 'older-01-all-loaded');
  await page.context().close();
});

test('zoom out doubles the range; j/k and Enter from the page (no click into the list) expand the selected record', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('{service_name="payments"}')}&from=now-30m&to=now`);
  await page
    .getByRole('status')
    .filter({ hasText: /^1[45] lines/ })
    .waitFor();
  await page.getByRole('button', { name: 'Zoom out' }).click();
  await page.waitForURL(/from=now-1h&to=now/);
  await page.getByRole('button', { name: 'Last 1 hour' }).waitFor();
  // The oldest payment is an hour old when pushed: by now it may have left the hour.
  await page
    .getByRole('status')
    .filter({ hasText: /^(29|30) lines/ })
    .waitFor();

  // Focus on the page itself, as after a click on empty space.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  await page.locator('.row[aria-selected=true]').filter({ hasText: 'payment attempt 28 failed' }).waitFor();
  await page.keyboard.press('Enter');
  const fields = page.getByRole('table', { name: 'fields' });
  await fields.waitFor();
  assert.match(await fields.innerText(), /payments/);
  assert.equal(await page.locator('.row[aria-selected=true]').getAttribute('aria-expanded'), 'true');
  await screenshot(page, 'keys-01-expanded-by-keyboard');

  // Typing a query is not navigation: j in the editor is a letter.
  await page.getByLabel('LogQL query').focus();
  await page.keyboard.press('j');
  await page.locator('.row[aria-selected=true]').filter({ hasText: 'payment attempt 28 failed' }).waitFor();
  await page.context().close();
});

test('live tail shows a batch in time order although its frame groups lines by stream, each line coloured by level', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/tail?q=${encodeURIComponent('{service_name=~"api|worker"}')}`);
  await page.locator('.badge.live').waitFor();
  const t = Date.now();
  // One push, two streams, their lines interleaved in time.
  const pushed = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      streams: [
        {
          stream: { service_name: 'api' },
          values: [
            [ns(t), 'level=info msg="step 1 of 4"'],
            [ns(t + 2), 'level=error msg="step 3 of 4"'],
          ],
        },
        {
          stream: { service_name: 'worker' },
          values: [
            [ns(t + 1), 'level=warn msg="step 2 of 4"'],
            [ns(t + 3), 'level=debug msg="step 4 of 4"'],
          ],
        },
      ],
    }),
  });
  assert.equal(pushed.status, 204);
  const log = page.getByRole('log');
  await log.getByText('step 4 of 4').waitFor();
  await log.getByText('step 1 of 4').waitFor();
  await log.getByText('step 2 of 4').waitFor();
  await log.getByText('step 3 of 4').waitFor();
  const order = (await log.locator('div').allInnerTexts()).map((text) => /step (\d) of 4/.exec(text)?.[1]).filter(Boolean);
  assert.deepEqual(order, ['1', '2', '3', '4']);
  assert.deepEqual(await log.locator('div').evaluateAll((rows) => rows.map((row) => row.className)), [
    'level-info',
    'level-warn',
    'level-error',
    'level-debug',
  ]);
  await screenshot(page, 'tail-01-batch-in-order');
  await page.context().close();
});
