import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
const keys: Record<string, { id: string; key: string }> = {};

async function call(token: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${meshlog.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const push = (token: string) =>
  call(token, '/loki/api/v1/push', { streams: [{ stream: { service_name: 'shipper' }, values: [[`${Date.now()}000000`, 'shipped']] }] });

before(async () => {
  meshlog = await startMeshlog();
  for (const name of ['rita', 'ada']) {
    assert.equal((await call(meshlog.token, '/api/v1/admin/users', { name, roles: ['admin'], tenants: ['default'] })).status, 201);
    keys[name] = (await (await call(meshlog.token, `/api/v1/admin/users/${name}/keys`, {})).json()) as { id: string; key: string };
  }
  keys.shipper = (await (
    await call(meshlog.token, '/api/v1/admin/keys', { name: 'edge shipper', roles: ['ingester'], tenants: ['default'] })
  ).json()) as { id: string; key: string };
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

test('a reviewer starts the review on the Access reviews page, keeps and revokes with its buttons (the revoked key gets 401 at once), and signs off once every grant is decided', async () => {
  const page = await newPage(browser);
  page.on('dialog', (dialog) => void dialog.accept());
  await logIn(page, meshlog.url, keys.rita.key);
  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Access reviews' }).click();
  await page.waitForURL(/\/ui\/access-reviews$/);
  await page.getByText('No access review yet.').waitFor();

  await page.getByLabel('review tenant').fill('default');
  await page.getByRole('button', { name: 'Start review' }).click();
  const grants = page.getByRole('table', { name: 'grants under review' });
  await grants.waitFor();
  assert.equal(await grants.locator('tbody tr').count(), 5);
  // Her own key and user are someone else's to decide.
  for (const own of [`key:${keys.rita.id}`, 'user:rita']) {
    await grants.locator(`tr[data-item="${own}"]`).getByText('not yours to decide').waitFor();
    assert.equal(await grants.locator(`tr[data-item="${own}"]`).getByRole('button').count(), 0);
  }
  await screenshot(page, 'access-review-01-open');

  assert.equal((await push(keys.shipper.key)).status, 204);
  await page.getByLabel(`comment on key:${keys.shipper.id}`).fill('edge retired');
  await page.getByRole('button', { name: `revoke key:${keys.shipper.id}` }).click();
  await grants.locator(`tr[data-item="key:${keys.shipper.id}"]`).getByText('revoked by rita').waitFor();
  assert.equal((await push(keys.shipper.key)).status, 401, 'the revoke took effect at once');
  for (const item of [`key:${keys.ada.id}`, 'user:ada']) {
    await page.getByRole('button', { name: `keep ${item}` }).click();
    await grants.locator(`tr[data-item="${item}"]`).getByText('kept by rita').waitFor();
  }
  assert.equal(await page.getByRole('button', { name: 'Sign off' }).isDisabled(), true, 'two grants are still undecided');

  // Ada decides Rita's grants; Rita's page shows them once reloaded.
  const reviewId = ((await (await call(keys.ada.key, '/api/v1/access-reviews')).json()) as { reviews: { review: string }[] }).reviews[0]!
    .review;
  for (const item of [`key:${keys.rita.id}`, 'user:rita'])
    assert.equal(
      (await call(keys.ada.key, `/api/v1/access-reviews/${reviewId}/items/${encodeURIComponent(item)}/decision`, { decision: 'keep' }))
        .status,
      200,
    );
  await page.reload();
  await grants.locator(`tr[data-item="user:rita"]`).getByText('kept by ada').waitFor();
  await page.getByLabel('sign-off comment').fill('Quarterly review complete');
  await page.getByRole('button', { name: 'Sign off' }).click();
  const history = page.getByRole('table', { name: 'access review history' });
  await history.getByText('signed off', { exact: true }).waitFor();
  assert.match(await page.getByLabel(`signature of ${reviewId}`).innerText(), /^Ed25519 [A-Za-z0-9+/]{24}…$/);
  assert.equal(await grants.count(), 0, 'no review is open any more');
  await screenshot(page, 'access-review-02-signed-off');
  await page.context().close();
});
