import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshlogError } from '../../src/errors.js';
import { LoginThrottle, loginAccountOf, throttleSource } from '../../src/security/loginThrottle.js';

const settings = { login_failures_per_address: 4, login_failures_per_account: 2, login_failure_window_ms: 60_000 };

function manualClock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function refusal(action: () => Promise<void>): Promise<MeshlogError> {
  try {
    await action();
  } catch (error) {
    assert.ok(error instanceof MeshlogError);
    return error;
  }
  assert.fail('expected a refusal');
}

test('the account of a credential: a key by its id, an OIDC token by its subject, anything else is the admin token', async () => {
  assert.equal(loginAccountOf(`mlk_0123456789ab_${'x'.repeat(43)}`), 'key:0123456789ab');
  const jwt = ['e30', Buffer.from(JSON.stringify({ sub: 'alice' })).toString('base64url'), 'sig'].join('.');
  assert.equal(loginAccountOf(jwt), 'oidc:alice');
  assert.equal(loginAccountOf('a.b.c'), 'admin-token', 'three parts that are no JWT');
  assert.equal(loginAccountOf('some-guess'), 'admin-token');
});

test('failures from one address within the window refuse it; Retry-After counts down to the oldest failure leaving the window', async () => {
  const clock = manualClock();
  const throttle = new LoginThrottle(settings, clock.now);
  assert.equal(await throttle.failed('10.0.0.1'), false);
  clock.advance(20_000);
  for (let i = 0; i < 2; i++) assert.equal(await throttle.failed('10.0.0.1'), false);
  await throttle.check('10.0.0.1');
  assert.equal(await throttle.failed('10.0.0.1'), true, 'the fourth failure reaches the limit');
  const refused = await refusal(() => throttle.check('10.0.0.1'));
  assert.equal(refused.code, 'ML_RATE_LIMITED');
  assert.equal(refused.retryAfterSeconds, 40, 'the first failure leaves the window in 40 s');
  assert.match(refused.message, /too many failed authentications from 10\.0\.0\.1/);
  clock.advance(39_000);
  assert.equal((await refusal(() => throttle.check('10.0.0.1'))).retryAfterSeconds, 1);
  clock.advance(1_000);
  await throttle.check('10.0.0.1');
});

test('a key owner is not locked out by failures in their key’s name from other addresses', async () => {
  const throttle = new LoginThrottle(settings, manualClock().now);
  for (let i = 0; i < 50; i++) await throttle.failed(`10.0.1.${i}`);
  for (let i = 0; i < 4; i++) await throttle.failed('10.0.0.66');
  await throttle.check('10.0.0.9');
  assert.equal((await refusal(() => throttle.check('10.0.0.66'))).code, 'ML_RATE_LIMITED');
});

test('an IPv6 host is throttled by its /64, IPv4-mapped addresses as IPv4', async () => {
  assert.equal(throttleSource('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(throttleSource('2001:db8:0:1:aaaa::1'), '2001:db8:0:1::/64');
  assert.equal(throttleSource('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(throttleSource('::1'), '0:0:0:0::/64');
  const throttle = new LoginThrottle(settings, manualClock().now);
  for (let i = 1; i <= 4; i++) await throttle.failed(`2001:db8:0:1::${i.toString(16)}`);
  assert.equal((await refusal(() => throttle.check('2001:db8:0:1:ffff::9'))).code, 'ML_RATE_LIMITED', 'another address of the same /64');
  await throttle.check('2001:db8:0:2::1');
});

test('a limit of 0 is off', async () => {
  const throttle = new LoginThrottle({ ...settings, login_failures_per_address: 0 }, manualClock().now);
  for (let i = 0; i < 50; i++) await throttle.failed('10.0.0.1');
  await throttle.check('10.0.0.1');
});
