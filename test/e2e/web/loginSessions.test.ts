import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

// Small login limits, so a handful of failures reach them; the window is long enough never to pass during the test.
const env = {
  MESHLOG_LIMITS_LOGIN_FAILURES_PER_ADDRESS: '6',
  MESHLOG_LIMITS_LOGIN_FAILURES_PER_ACCOUNT: '3',
  MESHLOG_LIMITS_LOGIN_FAILURE_WINDOW_MS: '60000',
};
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

async function logIn(
  token: string,
): Promise<{ status: number; cookie: string; csrfToken: string; retryAfter: string | null; body: string }> {
  const response = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token }),
  });
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
  assert.equal(
    (await adminCall('/api/v1/admin/users', { name: 'dana', email: 'dana@example.com', roles: ['analyst'], tenants: ['default'] })).status,
    201,
  );
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
  const logout = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'DELETE',
    headers: { Cookie: admin.cookie, 'x-csrf-token': admin.csrfToken },
  });
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

test('repeated failed logins from one address are refused with 429 and Retry-After; failures in a key\u2019s name never lock its owner out', async () => {
  const owned = await createKey('owned');
  const adminSession = await logIn(meshlog.token);
  assert.equal(adminSession.status, 200, adminSession.body);

  // Failures in the key's name (fewer than the address limit): the owner still logs in. No lockout per account.
  for (let i = 0; i < 5; i++) assert.equal((await logIn(wrongSecret(owned))).status, 401);
  const owner = await logIn(owned);
  assert.equal(owner.status, 200, owner.body);

  // The address limit (6): this address is refused, even with a right credential, until the window passes.
  assert.equal((await logIn(`mlk_${randomBytes(6).toString('hex')}_${'B'.repeat(43)}`)).status, 401);
  const fromAddress = await logIn(meshlog.token);
  assert.equal(fromAddress.status, 429, fromAddress.body);
  assert.ok(Number(fromAddress.retryAfter) >= 1 && Number(fromAddress.retryAfter) <= 60, `Retry-After ${fromAddress.retryAfter}`);
  assert.match(fromAddress.body, /too many failed authentications from /);
  assert.equal((await adminCall('/api/v1/admin/keys')).status, 429, 'a bearer token from this address waits as well');

  // A session opened before is no guess: it goes on working. Every failed login is audited with whose key was tried; the throttling once.
  const response = await fetch(`${meshlog.url}/api/v1/audit?since=1h&limit=10000`, { headers: { Cookie: adminSession.cookie } });
  assert.equal(response.status, 200);
  const { events } = (await response.json()) as { events: { action: string; outcome: string; target: string; detail: string }[] };
  const failedLogins = events.filter((event) => event.action === 'auth.session.login' && event.outcome === 'denied');
  assert.equal(failedLogins.filter((event) => event.target === `key:${owned.slice(4, 16)}`).length, 5);
  const throttled = events.filter((event) => event.action === 'auth.throttled');
  assert.equal(throttled.length, 1, JSON.stringify(throttled));
  assert.equal(JSON.parse(throttled[0]!.detail).failures, 6);
});
