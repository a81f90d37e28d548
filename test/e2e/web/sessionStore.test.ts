import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { MeshlogError } from '../../../src/errors.js';
import type { Identity } from '../../../src/security/identity.js';
import { clearedSessionCookie, sessionOfRequest, sessionSetCookie } from '../../../src/security/sessionCookie.js';
import { SessionStore } from '../../../src/security/sessions.js';
import { SessionEventStore } from '../../../src/storage/stores/sessionEventStore.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

const analyst: Identity = { id: 'k1', name: 'on-call', kind: 'api_key', roles: ['analyst'], tenants: ['acme'] };

// Sessions live in ClickHouse: one embedded chDB for the file.
let storage: Storage;
let events: SessionEventStore;
before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-sessions-'), database: 'meshlog' }, pino({ level: 'silent' }));
  events = new SessionEventStore(storage);
});
after(async () => storage.close());

/** A clock the test moves by hand (from now: stored rows expire by a TTL on real time). */
function manualClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('a session lives while it is used and ends after the idle timeout or the maximum age', async () => {
  const clock = manualClock();
  const sessions = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 150_000 }, events, clock.now);
  const { id } = await sessions.create(analyst);
  clock.advance(59_000);
  assert.deepEqual((await sessions.touch(id))?.identity, analyst, 'used within the idle timeout');
  clock.advance(59_000);
  assert.ok(await sessions.touch(id), 'each use restarts the idle clock');
  clock.advance(40_000);
  assert.equal(await sessions.touch(id), undefined, 'older than the maximum age, however busy');

  const idle = (await sessions.create(analyst)).id;
  clock.advance(60_001);
  assert.equal(await sessions.touch(idle), undefined, 'idle past the timeout');
  assert.equal(await sessions.touch('never-issued'), undefined);
});

test('a logged-out session is gone, the store keeps no cookie value, and another store on the same ClickHouse agrees', async () => {
  const sessions = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, events);
  const { id, session } = await sessions.create(analyst);
  assert.notEqual(session.csrfToken, id);
  const stored = await storage.rows<{ id_hash: string }>('SELECT id_hash FROM meshlog.ui_sessions');
  assert.ok(stored.length > 0);
  assert.ok(!JSON.stringify(stored).includes(id), 'keyed by a hash of the cookie');

  // A second process is a second store over the same tables.
  const elsewhere = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, new SessionEventStore(storage));
  assert.equal((await elsewhere.touch(id))?.csrfToken, session.csrfToken);
  await sessions.destroy(id);
  assert.equal(await sessions.touch(id), undefined);
  assert.equal(await elsewhere.touch(id), undefined, 'a logout ends the session everywhere');
});

test('ending the sessions of identities ends only theirs, and a later use cannot revive one', async () => {
  const sessions = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, events);
  const owner: Identity = { ...analyst, id: 'k3' };
  const other: Identity = { ...analyst, id: 'k4', name: 'someone else' };
  const first = await sessions.create(owner);
  const second = await sessions.create(owner);
  const kept = await sessions.create(other);
  assert.equal(await sessions.endSessionsOf(['k3', 'k9'], 'user disabled'), 2);
  assert.equal(await sessions.touch(first.id), undefined);
  assert.equal(await sessions.touch(second.id), undefined);
  assert.ok(await sessions.touch(kept.id));
  assert.equal(await sessions.endSessionsOf(['k3'], 'user disabled'), 0, 'already ended');
  // A "seen" written after the end (another process that had read the session just before) does not bring it back.
  const firstHash = createHash('sha256').update(first.id).digest('base64url');
  await events.append([
    { idHash: firstHash, identityId: 'k3', createdAt: Date.now(), seenAt: Date.now() + 1000, expiresAt: Date.now() + 600_000 },
  ]);
  assert.equal(await sessions.touch(first.id), undefined, 'ended stays ended');
});

test('cookies are HttpOnly and SameSite=Strict, Secure over TLS; requests are checked for origin and CSRF token', async () => {
  assert.equal(sessionSetCookie('abc', false), 'meshlog_session=abc; Path=/; HttpOnly; SameSite=Strict');
  assert.equal(sessionSetCookie('abc', true), 'meshlog_session=abc; Path=/; HttpOnly; Secure; SameSite=Strict');
  assert.match(clearedSessionCookie(true), /^meshlog_session=; Max-Age=0;/);

  const sessions = new SessionStore({ idleTimeoutMs: 60_000, maxAgeMs: 600_000 }, events);
  const { id, session } = await sessions.create(analyst);
  const headers = { host: 'meshlog.example:3100', cookie: `other=1; meshlog_session=${id}` };
  const found = await sessionOfRequest(sessions, 'GET', headers);
  assert.deepEqual([found?.identity, found?.csrfToken, found?.createdAt], [analyst, session.csrfToken, session.createdAt]);
  assert.equal(await sessionOfRequest(sessions, 'GET', { host: 'meshlog.example:3100' }), undefined, 'no cookie: not a session request');
  assert.equal(
    (await sessionOfRequest(sessions, 'GET', { ...headers, origin: 'http://meshlog.example:3100' }))?.csrfToken,
    session.csrfToken,
    'same origin',
  );
  const refused = (method: string, extra: Record<string, string>, pattern: RegExp) =>
    assert.rejects(
      () => sessionOfRequest(sessions, method, { ...headers, ...extra }),
      (error: unknown) => error instanceof MeshlogError && pattern.test(error.message),
    );
  await refused('GET', { origin: 'http://evil.example' }, /cross-origin request from http:\/\/evil.example refused/);
  await refused('GET', { origin: 'null' }, /cross-origin/);
  await refused('POST', {}, /missing or wrong x-csrf-token/);
  await refused('DELETE', { 'x-csrf-token': `${session.csrfToken.slice(1)}x` }, /missing or wrong x-csrf-token/);
  assert.equal((await sessionOfRequest(sessions, 'POST', { ...headers, 'x-csrf-token': session.csrfToken }))?.identity.id, analyst.id);
  await sessions.destroy(id);
  await refused('GET', {}, /session expired or logged out/);
});
