import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../support/meshlogProcess.js';
import { readCommitted } from '../support/storageReader.js';

// Small login limits, so a handful of failures reach them; the window is long enough never to pass during the test.
const env = { MESHLOG_LIMITS_LOGIN_FAILURES_PER_ADDRESS: '6', MESHLOG_LIMITS_LOGIN_FAILURES_PER_ACCOUNT: '3', MESHLOG_LIMITS_LOGIN_FAILURE_WINDOW_MS: '60000' };
let meshlog: RunningMeshlog;

before(async () => {
  meshlog = await startMeshlog({ env });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

async function adminCall<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function logIn(token: string): Promise<{ status: number; cookie: string; csrfToken: string; retryAfter: string | null; body: string }> {
  const response = await fetch(`${meshlog.url}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
  const body = await response.text();
  return {
    status: response.status,
    cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]!,
    csrfToken: response.ok ? (JSON.parse(body) as { csrfToken: string }).csrfToken : '',
    retryAfter: response.headers.get('retry-after'),
    body,
  };
}

const withCookie = (cookie: string, path = '/api/v1/session') => fetch(`${meshlog.url}${path}`, { headers: { Cookie: cookie } });

async function createKey(name: string): Promise<string> {
  const created = await adminCall<{ key: string }>('/api/v1/admin/keys', { name, roles: ['analyst'], tenants: ['default'] });
  assert.equal(created.status, 201);
  return created.body.key;
}

/** The key with its secret replaced: the right account, the wrong credential. */
const wrongSecret = (key: string) => `${key.slice(0, 17)}${'A'.repeat(43)}`;

test('a UI session survives a restart on the same data directory; logout ends it; disabling the user ends theirs', async () => {
  assert.equal((await adminCall('/api/v1/admin/users', { name: 'dana', email: 'dana@example.com', roles: ['analyst'], tenants: ['default'] })).status, 201);
  const issued = await adminCall<{ key: string }>('/api/v1/admin/users/dana/keys', {});
  assert.equal(issued.status, 201);
  const dana = await logIn(issued.body.key);
  assert.equal(dana.status, 200, dana.body);
  const admin = await logIn(meshlog.token);
  assert.equal(admin.status, 200, admin.body);
  assert.equal((await withCookie(dana.cookie, '/loki/api/v1/labels')).status, 200);

  const dataDir = meshlog.dataDir;
  assert.equal(await meshlog.stop(), 0, 'SIGTERM stops cleanly');
  meshlog = await startMeshlog({ dataDir, env });

  const resumed = await withCookie(dana.cookie);
  assert.equal(resumed.status, 200, 'the cookie still works after the restart');
  const view = (await resumed.json()) as { csrfToken: string; identity: { name: string; roles: string[] } };
  assert.deepEqual([view.csrfToken, view.identity.name, view.identity.roles], [dana.csrfToken, 'dana (user)', ['analyst']]);
  assert.equal((await withCookie(dana.cookie, '/loki/api/v1/labels')).status, 200);
  assert.equal((await withCookie(dana.cookie, '/api/v1/admin/keys')).status, 403, 'with the roles it had, no more');

  // Logout ends the admin's session: the same cookie is refused afterwards.
  const logout = await fetch(`${meshlog.url}/api/v1/session`, { method: 'DELETE', headers: { Cookie: admin.cookie, 'x-csrf-token': admin.csrfToken } });
  assert.equal(logout.status, 200);
  assert.equal((await withCookie(admin.cookie)).status, 401);
  assert.equal((await withCookie(admin.cookie, '/api/v1/admin/keys')).status, 401);

  // Disabling the user ends the session opened with their key, as well as the key.
  const disabled = await adminCall<{ ended_sessions: number; revoked_keys: string[] }>('/api/v1/admin/users/dana/disable', {});
  assert.equal(disabled.status, 200);
  assert.equal(disabled.body.ended_sessions, 1);
  assert.equal(disabled.body.revoked_keys.length, 1);
  const refused = await withCookie(dana.cookie, '/loki/api/v1/labels');
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /session expired or logged out/);
  assert.equal((await logIn(issued.body.key)).status, 401, 'nor can the key log in again');

  // What is stored names sessions by a hash: neither cookie value is in the table.
  assert.equal(await meshlog.stop(), 0);
  const stored = JSON.stringify(await readCommitted(dataDir, 'SELECT * FROM meshlog.ui_sessions'));
  assert.match(stored, /user disabled/);
  assert.match(stored, /logout/);
  for (const cookie of [dana.cookie, admin.cookie]) assert.ok(!stored.includes(cookie.split('=')[1]!), 'no raw session id stored');
  meshlog = await startMeshlog({ dataDir, env });
});

test('repeated failed logins are refused with 429 and Retry-After, per account and per client address; a success clears the count', async () => {
  const locked = await createKey('locked out');
  const recovering = await createKey('recovering');

  // Three wrong secrets for one key: its next login is refused, even with the right secret.
  for (let i = 0; i < 3; i++) assert.equal((await logIn(wrongSecret(locked))).status, 401);
  const refused = await logIn(locked);
  assert.equal(refused.status, 429, refused.body);
  assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 60, `Retry-After ${refused.retryAfter}`);
  assert.match(refused.body, new RegExp(`too many failed logins for key:${locked.slice(4, 16)}`));

  // Two failures then a success, twice over: the success cleared the count (four failures would have locked it).
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 2; i++) assert.equal((await logIn(wrongSecret(recovering))).status, 401);
    assert.equal((await logIn(recovering)).status, 200, `round ${round}`);
  }
  assert.equal((await logIn(locked)).status, 429, 'another account’s success does not unlock this one');

  // Six failures from one address, each naming a different key: that address is refused for every account.
  for (let i = 0; i < 6; i++) assert.equal((await logIn(`mlk_${randomBytes(6).toString('hex')}_${'B'.repeat(43)}`)).status, 401);
  const fromAddress = await logIn(meshlog.token);
  assert.equal(fromAddress.status, 429);
  assert.ok(Number(fromAddress.retryAfter) >= 1);
  assert.match(fromAddress.body, /too many failed logins from /);

  // Every refusal is in the audit trail.
  const audit = await adminCall<{ events: { action: string; outcome: string; target: string; detail: string }[] }>('/api/v1/audit?since=1h&action=auth.session.login');
  const throttled = audit.body.events.filter((event) => event.outcome === 'denied' && JSON.parse(event.detail).throttled === true);
  assert.equal(throttled.length, 3, JSON.stringify(throttled));
  assert.deepEqual(throttled.map((event) => event.target).sort(), ['admin-token', `key:${locked.slice(4, 16)}`, `key:${locked.slice(4, 16)}`]);
});
