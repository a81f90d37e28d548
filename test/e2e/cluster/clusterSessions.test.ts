import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { startTestCluster, type ClusterNode, type TestCluster } from '../../support/meshlogCluster.js';
import type { RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

// 3 nats-server processes and 2 meshlog nodes: UI sessions and the login throttle are the cluster's, not a node's.
const failuresPerAddress = 6;
// Long enough never to pass during the test.
const limits = `limits:\n  login_failures_per_address: ${failuresPerAddress}\n  login_failure_window_ms: 600000\n`;
let cluster: TestCluster;
let a: ClusterNode;
let b: ClusterNode;

before(async () => {
  cluster = await startTestCluster([
    { id: 'a', config: limits },
    { id: 'b', config: limits },
  ]);
  [a, b] = cluster.nodes;
});

after(async () => {
  await cluster?.stop();
});

interface Answer {
  status: number;
  text: string;
  cookie: string;
}

/** One HTTP request from a chosen loopback address (each address of 127.0.0.0/8 is its own client to the throttle). */
function request(
  node: RunningMeshlog,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; from?: string } = {},
): Promise<Answer> {
  const url = new URL(node.url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    const sent = http.request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers, localAddress: options.from, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text, cookie: String(response.headers['set-cookie'] ?? '').split(';')[0]! }),
        );
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

const admin = (node: RunningMeshlog, path: string, body?: unknown) =>
  request(node, path, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${node.token}` }, body });

async function logIn(node: RunningMeshlog, token: string, from?: string): Promise<{ status: number; cookie: string; csrfToken: string }> {
  const answer = await request(node, '/api/v1/session', { method: 'POST', body: { token }, from });
  return { status: answer.status, cookie: answer.cookie, csrfToken: answer.status === 200 ? JSON.parse(answer.text).csrfToken : '' };
}

const withCookie = (node: RunningMeshlog, cookie: string, path = '/api/v1/session') => request(node, path, { headers: { cookie } });

const until = <T>(what: string, probe: () => Promise<T | undefined | false>) =>
  waitFor(probe, { what, timeoutMs: 180_000, intervalMs: 50 });

async function userKey(name: string, roles: string[], tenants: string[]): Promise<string> {
  assert.equal((await admin(a.meshlog, '/api/v1/admin/users', { name, roles, tenants })).status, 201);
  await until(`B to know the user ${name}`, async () => (await admin(b.meshlog, '/api/v1/admin/users')).text.includes(`"${name}"`));
  const issued = await admin(a.meshlog, `/api/v1/admin/users/${name}/keys`, {});
  assert.equal(issued.status, 201, issued.text);
  return JSON.parse(issued.text).key as string;
}

test('a UI session made through node A is good on node B, and logged out through A is refused by B', async (t) => {
  const session = await logIn(a.meshlog, a.meshlog.token);
  assert.equal(session.status, 200);
  const madeAt = performance.now();
  await until('B to take the session made on A', async () => (await withCookie(b.meshlog, session.cookie)).status === 200);
  // A figure for the report (polled every 50 ms), never a condition of the test.
  t.diagnostic(`usable on B ${Math.round(performance.now() - madeAt)} ms after A answered the login`);
  const onB = JSON.parse((await withCookie(b.meshlog, session.cookie)).text) as { csrfToken: string };
  assert.equal(onB.csrfToken, session.csrfToken, 'the same session, not a new one');

  const logout = await request(a.meshlog, '/api/v1/session', {
    method: 'DELETE',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
  });
  assert.equal(logout.status, 200, logout.text);
  const loggedOutAt = performance.now();
  await until('B to refuse the session logged out on A', async () => (await withCookie(b.meshlog, session.cookie)).status === 401);
  t.diagnostic(`refused on B ${Math.round(performance.now() - loggedOutAt)} ms after A answered the logout`);
  assert.equal((await withCookie(b.meshlog, session.cookie, '/api/v1/admin/keys')).status, 401);
});

test('a user disabled through node A has their UI session opened on node B refused on both nodes', async () => {
  const key = await userKey('gale', ['analyst'], ['default']);
  await until('B to take the key issued on A', async () => (await logIn(b.meshlog, key)).status === 200);
  const session = await logIn(b.meshlog, key);
  assert.equal((await withCookie(b.meshlog, session.cookie, '/loki/api/v1/labels')).status, 200);
  await until('A to take the session made on B', async () => (await withCookie(a.meshlog, session.cookie)).status === 200);

  const disabled = await admin(a.meshlog, '/api/v1/admin/users/gale/disable', {});
  assert.equal(disabled.status, 200, disabled.text);
  assert.ok(JSON.parse(disabled.text).ended_sessions >= 1, 'A ended the session opened on B');
  await until('B to refuse the session of the user disabled on A', async () => {
    const answer = await withCookie(b.meshlog, session.cookie, '/loki/api/v1/labels');
    return answer.status === 401 && /session expired or logged out/.test(answer.text);
  });
  assert.equal((await withCookie(a.meshlog, session.cookie, '/loki/api/v1/labels')).status, 401);
});

test('a session replicated to node B acts there with its own roles and tenants only', async () => {
  const key = await userKey('hal', ['analyst'], ['team-a']);
  await until('A to take the key', async () => (await logIn(a.meshlog, key)).status === 200);
  const session = await logIn(a.meshlog, key);
  await until('B to take the session made on A', async () => (await withCookie(b.meshlog, session.cookie)).status === 200);
  assert.equal(
    (await request(b.meshlog, '/loki/api/v1/labels', { headers: { cookie: session.cookie, 'x-scope-orgid': 'team-a' } })).status,
    200,
  );
  const otherTenant = await request(b.meshlog, '/loki/api/v1/labels', { headers: { cookie: session.cookie, 'x-scope-orgid': 'team-b' } });
  assert.equal(otherTenant.status, 403, otherTenant.text);
  assert.equal((await withCookie(b.meshlog, session.cookie, '/api/v1/admin/keys')).status, 403, 'an analyst is no admin on B either');
  const disable = await request(b.meshlog, '/api/v1/admin/users/hal/disable', {
    method: 'POST',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
  });
  assert.equal(disable.status, 403, disable.text);
  // A cookie never made on any node is refused on both.
  const forged = `${session.cookie.split('=')[0]}=${'A'.repeat(43)}`;
  assert.equal((await withCookie(a.meshlog, forged)).status, 401);
  assert.equal((await withCookie(b.meshlog, forged)).status, 401);
});

test('password guessing spread over two nodes is throttled at the configured limit, not twice it', async () => {
  const key = await userKey('ivy', ['analyst'], ['default']);
  await until('B to take the key', async () => (await logIn(b.meshlog, key)).status === 200);
  const guesser = '127.0.0.23';
  const wrong = (i: number) => `${key.slice(0, 17)}${String(i).padStart(43, 'A')}`;
  const statuses: number[] = [];
  // Alternating nodes, and both ways of presenting a credential: UI login and bearer token.
  for (let i = 0; i < 2 * failuresPerAddress; i++) {
    const node = i % 2 === 0 ? a.meshlog : b.meshlog;
    const answer =
      i % 3 === 0
        ? await request(node, '/loki/api/v1/labels', { headers: { authorization: `Bearer ${wrong(i)}` }, from: guesser })
        : await request(node, '/api/v1/session', { method: 'POST', body: { token: wrong(i) }, from: guesser });
    statuses.push(answer.status);
  }
  assert.deepEqual(statuses, [...Array<number>(failuresPerAddress).fill(401), ...Array<number>(failuresPerAddress).fill(429)]);
  // The right key from the guessing address is refused unchecked on both nodes; its owner elsewhere is not locked out.
  assert.equal((await logIn(a.meshlog, key, guesser)).status, 429);
  assert.equal((await logIn(b.meshlog, key, guesser)).status, 429);
  assert.equal((await logIn(b.meshlog, key, '127.0.0.24')).status, 200);
});
