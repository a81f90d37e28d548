import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshlogError } from '../../src/errors.js';
import { LoginThrottle, loginAccountOf } from '../../src/security/loginThrottle.js';

const settings = { login_failures_per_address: 4, login_failures_per_account: 2, login_failure_window_ms: 60_000 };

function manualClock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function refusal(action: () => void): MeshlogError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof MeshlogError);
    return error;
  }
  assert.fail('expected a refusal');
}

test('the account of a credential: a key by its id, an OIDC token by its subject, anything else is the admin token', () => {
  assert.equal(loginAccountOf(`mlk_0123456789ab_${'x'.repeat(43)}`), 'key:0123456789ab');
  const jwt = ['e30', Buffer.from(JSON.stringify({ sub: 'alice' })).toString('base64url'), 'sig'].join('.');
  assert.equal(loginAccountOf(jwt), 'oidc:alice');
  assert.equal(loginAccountOf('a.b.c'), 'admin-token', 'three parts that are no JWT');
  assert.equal(loginAccountOf('some-guess'), 'admin-token');
});

test('failures within the window lock the account, Retry-After counts down to the oldest failure leaving it', () => {
  const clock = manualClock();
  const throttle = new LoginThrottle(settings, clock.now);
  throttle.failed('10.0.0.1', 'key:a');
  clock.advance(20_000);
  throttle.failed('10.0.0.2', 'key:a');
  const refused = refusal(() => throttle.check('10.0.0.3', 'key:a'));
  assert.equal(refused.code, 'ML_RATE_LIMITED');
  assert.equal(refused.retryAfterSeconds, 40, 'the first failure leaves the window in 40 s');
  assert.match(refused.message, /too many failed logins for key:a/);
  throttle.check('10.0.0.3', 'key:b');
  clock.advance(39_000);
  assert.equal(refusal(() => throttle.check('10.0.0.3', 'key:a')).retryAfterSeconds, 1);
  clock.advance(1_000);
  throttle.check('10.0.0.3', 'key:a');
});

test('failures from one address lock it for every account; a success clears the address and the account', () => {
  const throttle = new LoginThrottle(settings, manualClock().now);
  for (const account of ['key:a', 'key:b', 'key:c']) throttle.failed('10.0.0.9', account);
  throttle.check('10.0.0.9', 'key:d');
  throttle.succeeded('10.0.0.9', 'key:d');
  for (const account of ['key:e', 'key:f', 'key:g']) throttle.failed('10.0.0.9', account);
  throttle.check('10.0.0.9', 'key:h');
  throttle.failed('10.0.0.9', 'key:i');
  assert.match(refusal(() => throttle.check('10.0.0.9', 'key:h')).message, /from 10\.0\.0\.9/);
  throttle.check('10.0.0.10', 'key:h');
});

test('a limit of 0 is off', () => {
  const throttle = new LoginThrottle({ ...settings, login_failures_per_address: 0, login_failures_per_account: 0 }, manualClock().now);
  for (let i = 0; i < 50; i++) throttle.failed('10.0.0.1', 'admin-token');
  throttle.check('10.0.0.1', 'admin-token');
});
