import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
const now = Date.now();
// A burst of twelve checkout errors in two minutes, forty minutes ago, over a steady trickle of info lines.
const burstStartMs = now - 40 * 60_000;
const ns = (ms: number) => `${Math.round(ms)}000000`;

async function asAdmin(path: string, tenant = 'default', init: { method?: string; body?: string } = {}): Promise<Response> {
  return fetch(`${meshlog.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': tenant, 'Content-Type': 'application/json' },
    body: init.body,
  });
}

before(async () => {
  meshlog = await startMeshlog();
  const info = Array.from({ length: 60 }, (_, i) => [ns(now - 60 * 60_000 + i * 60_000), `level=info msg="order ${i} placed"`]);
  const burst = Array.from({ length: 12 }, (_, i) => [
    ns(burstStartMs + i * 10_000),
    `level=error msg="payment gateway timeout" order=${500 + i}`,
  ]);
  const pushed = await asAdmin('/loki/api/v1/push', 'default', {
    method: 'POST',
    body: JSON.stringify({ streams: [{ stream: { service_name: 'checkout' }, values: [...info, ...burst] }] }),
  });
  assert.equal(pushed.status, 204, await pushed.text());
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

/** The rules of a tenant as Loki's ruler API answers them (404 when there are none). */
async function rulerText(tenant = 'default'): Promise<string> {
  const answer = await asAdmin('/loki/api/v1/rules', tenant);
  return answer.status === 404 ? '' : answer.text();
}

test('an admin creates a rule in the UI, tests it against the last hours (would have fired during the burst), edits, and deletes it', async () => {
  const page = await newPage(browser);
  page.on('dialog', (dialog) => void dialog.accept());
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/alerts`);
  const rules = page.getByRole('region', { name: 'rules' });
  await rules.getByText('No alert rules in this tenant yet: create one with New rule.').waitFor();
  await screenshot(page, 'rules-01-empty');

  await rules.getByRole('button', { name: 'New rule' }).click();
  const editor = page.getByRole('form', { name: 'new rule' });
  await editor.getByLabel('Alert name').fill('CheckoutErrorBurst');
  await editor.getByLabel('Expression').fill('sum(count_over_time({service_name="checkout"} |= "error" [5m])) > 5');
  await editor.getByLabel('For').fill('1m');
  await editor.getByLabel('Summary').fill('checkout logged {{ $value }} errors in 5 minutes');
  await editor.getByRole('button', { name: 'Test against recent data' }).click();
  const firedAt = editor.getByRole('region', { name: 'test result' }).locator('time');
  await firedAt.waitFor();
  const firedMs = Date.parse((await firedAt.getAttribute('datetime'))!);
  // The condition holds from the sixth error on and for five minutes after the last: firing needs a minute of it.
  assert.ok(
    firedMs >= burstStartMs + 60_000 && firedMs <= burstStartMs + 8 * 60_000,
    `would have fired ${(firedMs - burstStartMs) / 1000} s after the burst began`,
  );
  assert.match(await editor.getByRole('region', { name: 'test result' }).innerText(), /Would have fired at .*value \d+/);
  await screenshot(page, 'rules-02-new-rule-tested');

  await editor.getByRole('button', { name: 'Save rule' }).click();
  const table = page.getByRole('table', { name: 'alert rules' });
  await table.getByText('CheckoutErrorBurst').waitFor();
  const stored = await rulerText();
  assert.match(stored, /alert: CheckoutErrorBurst/);
  assert.match(stored, /severity: page/);
  assert.match(stored, /for: 60000ms/);
  await screenshot(page, 'rules-03-saved');

  // Edit: a threshold the burst never reached would not have fired.
  await table.getByRole('button', { name: 'edit CheckoutErrorBurst' }).click();
  const edit = page.getByRole('form', { name: 'edit rule CheckoutErrorBurst' });
  assert.equal(await edit.getByLabel('Summary').inputValue(), 'checkout logged {{ $value }} errors in 5 minutes');
  await edit.getByLabel('Expression').fill('sum(count_over_time({service_name="checkout"} |= "error" [5m])) > 100');
  await edit.getByRole('button', { name: 'Test against recent data' }).click();
  await edit
    .getByRole('region', { name: 'test result' })
    .getByText(/^Would not have fired between/)
    .waitFor();
  await screenshot(page, 'rules-04-edit-would-not-fire');
  await edit.getByRole('button', { name: 'Save rule' }).click();
  await table.getByText('> 100').waitFor();
  const edited = await rulerText();
  assert.match(edited, /> 100/);
  assert.equal(edited.match(/alert: /g)?.length, 1, 'edited in place, not added');

  // An invalid expression is refused with the server's reason, and nothing changes.
  await table.getByRole('button', { name: 'edit CheckoutErrorBurst' }).click();
  await edit.getByLabel('Expression').fill('{service_name="checkout"}');
  await edit.getByRole('button', { name: 'Save rule' }).click();
  await edit
    .getByRole('alert')
    .getByText(/must be a metric query/)
    .waitFor();
  await edit.getByRole('button', { name: 'Cancel' }).click();

  await table.getByRole('button', { name: 'delete CheckoutErrorBurst' }).click();
  await rules.getByText('No alert rules in this tenant yet').waitFor();
  assert.equal(await rulerText(), '');
  await page.context().close();
});

test('an analyst sees the rules but no way to change them', async () => {
  const put = await asAdmin('/loki/api/v1/rules/ops', 'default', {
    method: 'POST',
    body: JSON.stringify({
      name: 'ops',
      rules: [{ alert: 'AnyErrors', expr: 'sum(count_over_time({service_name="checkout"} |= "error" [5m])) > 0' }],
    }),
  });
  assert.equal(put.status, 202, await put.text());
  const created = await asAdmin('/api/v1/admin/keys', 'default', {
    method: 'POST',
    body: JSON.stringify({ name: 'reader', roles: ['analyst'], tenants: ['default'] }),
  });
  const key = ((await created.json()) as { key: string }).key;
  const page = await newPage(browser);
  await logIn(page, meshlog.url, key);
  await page.goto(`${meshlog.url}/ui/alerts`);
  await page.getByRole('table', { name: 'alert rules' }).getByText('AnyErrors').waitFor();
  assert.equal(await page.getByRole('button', { name: 'New rule' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^edit / }).count(), 0);
  await page.context().close();
});
