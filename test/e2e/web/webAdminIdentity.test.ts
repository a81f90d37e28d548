import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

let meshlog: RunningMeshlog;
let browser: Browser;
let analystKey: string;

async function adminCall<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

before(async () => {
  meshlog = await startMeshlog();
  const created = await adminCall<{ key: string }>('/api/v1/admin/keys', {
    name: 'on-call analyst',
    roles: ['analyst'],
    tenants: ['default'],
  });
  analystKey = created.body.key;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

async function loggedIn(token: string): Promise<Page> {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, token);
  return page;
}

test('an admin creates a user, issues them a key and disables them on the Users page; the key and its session stop working', async () => {
  const page = await loggedIn(meshlog.token);
  await page.goto(`${meshlog.url}/ui/admin?tab=users`);
  await page.getByText('No users yet.').waitFor();

  await page.getByLabel('user name').fill('erin');
  await page.getByLabel('user email').fill('erin@example.com');
  await page.getByRole('checkbox', { name: 'user role auditor' }).check();
  await page.getByLabel('user tenants').fill('default, staging');
  await page.getByRole('button', { name: 'Create user' }).click();
  const row = page.getByRole('table', { name: 'users' }).getByRole('row', { name: /erin/ });
  await row.waitFor();
  assert.match(await row.innerText(), /erin@example\.com\s+analyst, auditor\s+default, staging\s+0\s+active/);

  await row.getByRole('button', { name: 'issue a key to erin' }).click();
  const secret = page.getByRole('status', { name: 'new user key' });
  await secret.waitFor();
  const key = (await secret.locator('code').innerText()).trim();
  assert.match(key, /^mlk_[0-9a-f]{12}_/);
  await row.getByText(/^1$/).waitFor();
  // The key logs in to the UI, as erin with erin's grants.
  const erinLogin = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: key }),
  });
  assert.equal(erinLogin.status, 200);
  const erinCookie = (erinLogin.headers.get('set-cookie') ?? '').split(';')[0]!;
  assert.equal((await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { Cookie: erinCookie } })).status, 200);
  await secret.getByRole('button', { name: 'Done' }).click();
  await screenshot(page, '22-admin-users');

  page.once('dialog', (dialog) => void dialog.accept());
  await row.getByRole('button', { name: 'disable erin' }).click();
  await row.locator('.state.disabled').waitFor();
  await page.getByText('erin disabled: 1 key(s) revoked, 1 session(s) ended.').waitFor();
  await screenshot(page, '23-admin-user-disabled');
  assert.equal(
    (await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { Authorization: `Bearer ${key}` } })).status,
    401,
    'the key is revoked',
  );
  assert.equal((await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { Cookie: erinCookie } })).status, 401, 'the session is ended');
  await row.getByRole('button', { name: 'enable erin' }).click();

  // Changing grants: the form is filled with erin's, and the table shows the new ones.
  await row.getByRole('button', { name: 'change erin' }).click();
  assert.equal(await page.getByLabel('user tenants').inputValue(), 'default, staging');
  await page.getByRole('checkbox', { name: 'user role auditor' }).uncheck();
  await page.getByLabel('user tenants').fill('default');
  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('erin updated: 0 key(s) revoked, 0 session(s) ended.').waitFor();
  // The table reloads after the message: wait for the new grants before reading the row.
  await row.getByRole('cell', { name: 'analyst', exact: true }).waitFor();
  await row.getByRole('cell', { name: 'default', exact: true }).waitFor();
  assert.match(await row.innerText(), /erin@example\.com\s+analyst\s+default\s+1\s+active/);
  await page.context().close();
});

test('an admin registers and disables a tenant on the Tenants page; its ingest is refused', async () => {
  const page = await loggedIn(meshlog.token);
  await page.goto(`${meshlog.url}/ui/admin?tab=tenants`);
  await page.getByLabel('tenant name').fill('staging');
  await page.getByLabel('tenant description').fill('pre-production clusters');
  await page.getByRole('button', { name: 'Register tenant' }).click();
  const row = page.getByRole('table', { name: 'tenants' }).getByRole('row', { name: /staging/ });
  await row.waitFor();
  assert.match(await row.innerText(), /staging\s+pre-production clusters\s+active/);

  page.once('dialog', (dialog) => void dialog.accept());
  await row.getByRole('button', { name: 'disable tenant staging' }).click();
  await row.locator('.state.disabled').waitFor();
  await screenshot(page, '24-admin-tenants');
  const push = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json', 'X-Scope-OrgID': 'staging' },
    body: JSON.stringify({ streams: [{ stream: { service_name: 'x' }, values: [[`${Date.now()}000000`, 'hello']] }] }),
  });
  assert.equal(push.status, 403);
  assert.match(await push.text(), /tenant "staging" is disabled/);
  await page.context().close();
});

test('the Redaction page lists the active rules read-only and shows what a sample line would become', async () => {
  const page = await loggedIn(meshlog.token);
  await page.goto(`${meshlog.url}/ui/admin?tab=redaction`);
  const rules = page.getByRole('table', { name: 'active rules' });
  await rules.waitFor();
  assert.equal(await page.getByLabel('redaction mode').innerText(), 'redact');
  for (const rule of ['email', 'credit_card', 'jwt']) await rules.getByRole('row', { name: new RegExp(`^${rule} `) }).waitFor();
  await page.getByText('read-only: set under pipeline.redaction in the config file').waitFor();
  await page.getByText('Built-in rules not in use: ipv4, ipv6.').waitFor();

  await page.getByLabel('sample line', { exact: true }).fill('payment by ana@example.com card=4111 1111 1111 1111 order=77');
  await page.getByRole('button', { name: 'Test' }).click();
  const output = page.getByLabel('masked output');
  await output.waitFor();
  assert.equal(await output.innerText(), 'payment by [REDACTED:email] card=[REDACTED:credit_card] order=77');
  await page.getByText('Redacted by email (1), credit_card (1).').waitFor();
  await screenshot(page, '25-admin-redaction');

  await page.getByLabel('sample line', { exact: true }).fill('GET /health 200 12ms');
  await page.getByRole('button', { name: 'Test' }).click();
  await page.getByText('No rule matches this line').waitFor();
  assert.equal(await output.innerText(), 'GET /health 200 12ms');
  await page.context().close();
});

test('every change made on these pages is in the audit trail, by the admin who made it', async () => {
  const audit = await adminCall<{ events: { action: string; actor_name: string; target: string; detail: string }[] }>(
    '/api/v1/audit?since=1h&limit=1000',
  );
  const changes = audit.body.events
    .filter((event) => /^(users|tenants)\./.test(event.action))
    .map((event) => `${event.action} ${event.target} by ${event.actor_name}`);
  for (const expected of ['users.create erin', 'users.disable erin', 'tenants.create staging', 'tenants.disable staging']) {
    assert.ok(changes.includes(`${expected} by bootstrap admin`), `${expected}: ${changes.join('\n')}`);
  }
  const disabled = audit.body.events.find((event) => event.action === 'users.disable');
  assert.equal(JSON.parse(disabled!.detail).ended_sessions, 1);
  // The sample line of a redaction test is never recorded, only that an admin ran one.
  const samples = audit.body.events.filter((event) => event.target === '/api/v1/admin/redaction/test');
  assert.equal(samples.length, 2);
  assert.ok(!JSON.stringify(audit.body.events).includes('ana@example.com'));
});

test('an analyst sees none of these pages and the server refuses their calls', async () => {
  const page = await loggedIn(analystKey);
  assert.equal(await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Admin' }).count(), 0);
  await page.goto(`${meshlog.url}/ui/admin?tab=users`);
  await page.getByText('may not open Admin').waitFor();
  assert.equal(await page.getByRole('table', { name: 'users' }).count(), 0);
  await screenshot(page, '26-admin-users-refused');
  const statuses = await page.evaluate(async () => {
    const { csrfToken } = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
    const post = (path: string, body: unknown) =>
      fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    return [
      (await fetch('/api/v1/admin/users')).status,
      (await fetch('/api/v1/admin/tenants')).status,
      (await fetch('/api/v1/admin/redaction')).status,
      await post('/api/v1/admin/users', { name: 'mallory', roles: ['admin'], tenants: ['*'] }),
      await post('/api/v1/admin/tenants/default/disable', {}),
      await post('/api/v1/admin/redaction/test', { line: 'x' }),
    ];
  });
  assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403]);
  assert.equal(
    (await adminCall<{ users: { name: string }[] }>('/api/v1/admin/users')).body.users.some((user) => user.name === 'mallory'),
    false,
  );
  await page.context().close();
});
