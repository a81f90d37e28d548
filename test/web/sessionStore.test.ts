import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshlogError } from '../../src/errors.js';
import type { Identity } from '../../src/security/identity.js';
import { clearedSessionCookie, sessionOfRequest, sessionSetCookie } from '../../src/security/sessionCookie.js';
import { SessionStore } from '../../src/security/sessions.js';

const analyst: Identity = { id: 'k1', name: 'on-call', kind: 'api_key', roles: ['analyst'], tenants: ['acme'] };

/** A clock the test moves by hand. */
function manualClock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('a session lives while it is used and ends after the idle timeout or the maximum age', () => {
  const clock = manualClock();
  const sessions = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 150_000 }, clock.now);
  const { id } = sessions.create(analyst);
  clock.advance(59_000);
  assert.equal(sessions.touch(id)?.identity, analyst, 'used within the idle timeout');
  clock.advance(59_000);
  assert.ok(sessions.touch(id), 'each use restarts the idle clock');
  clock.advance(40_000);
  assert.equal(sessions.touch(id), undefined, 'older than the maximum age, however busy');
  assert.equal(sessions.size, 0);

  const idle = sessions.create(analyst).id;
  clock.advance(60_001);
  assert.equal(sessions.touch(idle), undefined, 'idle past the timeout');
  assert.equal(sessions.touch('never-issued'), undefined);
});

test('a logged-out session is gone, and the store keeps no cookie value', () => {
  const sessions = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 600_000 });
  const { id, session } = sessions.create(analyst);
  assert.notEqual(session.csrfToken, id);
  assert.ok(!JSON.stringify([...(sessions as unknown as { sessions: Map<string, unknown> }).sessions.keys()]).includes(id), 'keyed by a hash of the cookie');
  assert.equal(sessions.destroy(id), session);
  assert.equal(sessions.touch(id), undefined);
});

test('cookies are HttpOnly and SameSite=Strict, Secure over TLS; requests are checked for origin and CSRF token', () => {
  assert.equal(sessionSetCookie('abc', false), 'meshlog_session=abc; Path=/; HttpOnly; SameSite=Strict');
  assert.equal(sessionSetCookie('abc', true), 'meshlog_session=abc; Path=/; HttpOnly; Secure; SameSite=Strict');
  assert.match(clearedSessionCookie(true), /^meshlog_session=; Max-Age=0;/);

  const sessions = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 600_000 });
  const { id, session } = sessions.create(analyst);
  const headers = { host: 'meshlog.example:3100', cookie: `other=1; meshlog_session=${id}` };
  assert.equal(sessionOfRequest(sessions, 'GET', headers), session);
  assert.equal(sessionOfRequest(sessions, 'GET', { host: 'meshlog.example:3100' }), undefined, 'no cookie: not a session request');
  assert.equal(sessionOfRequest(sessions, 'GET', { ...headers, origin: 'http://meshlog.example:3100' }), session, 'same origin');
  const refused = (method: string, extra: Record<string, string>, pattern: RegExp) =>
    assert.throws(() => sessionOfRequest(sessions, method, { ...headers, ...extra }), (error: unknown) => error instanceof MeshlogError && pattern.test(error.message));
  refused('GET', { origin: 'http://evil.example' }, /cross-origin request from http:\/\/evil.example refused/);
  refused('GET', { origin: 'null' }, /cross-origin/);
  refused('POST', {}, /missing or wrong x-csrf-token/);
  refused('DELETE', { 'x-csrf-token': `${session.csrfToken.slice(1)}x` }, /missing or wrong x-csrf-token/);
  assert.equal(sessionOfRequest(sessions, 'POST', { ...headers, 'x-csrf-token': session.csrfToken }), session);
  sessions.destroy(id);
  refused('GET', {}, /session expired or logged out/);
});
