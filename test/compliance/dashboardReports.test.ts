import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DashboardReports } from '../../src/compliance/dashboardReports.js';
import type { BuiltReport } from '../../src/compliance/soc2Report.js';

/** A stand-in for buildSoc2Report that counts its runs (the real one is covered by the SOC 2 report tests). */
function counter() {
  let runs = 0;
  return {
    runs: () => runs,
    generate: async (): Promise<BuiltReport> => ({ report: {} as BuiltReport['report'], json: '{}', sha256: `run-${++runs}` }),
  };
}

test('a dashboard report is reused per tenant and period until it expires, is refreshed, or a report is generated', async () => {
  let nowMs = 1_000_000;
  const cache = new DashboardReports(300_000, () => nowMs);
  const acme = counter();
  const day = 86_400_000;

  const first = await cache.get('acme', day, false, acme.generate);
  assert.deepEqual([first.cached, first.built.sha256, first.generatedAtMs], [false, 'run-1', 1_000_000]);
  nowMs += 299_999;
  const again = await cache.get('acme', day, false, acme.generate);
  assert.deepEqual([again.cached, again.built.sha256, again.generatedAtMs], [true, 'run-1', 1_000_000]);
  assert.equal((await cache.get('acme', 7 * day, false, acme.generate)).built.sha256, 'run-2', 'another period, another report');
  assert.equal((await cache.get('beta', day, false, acme.generate)).built.sha256, 'run-3', 'another tenant, another report');

  nowMs += 1;
  assert.equal((await cache.get('acme', day, false, acme.generate)).built.sha256, 'run-4', 'expired');
  assert.equal((await cache.get('acme', day, true, acme.generate)).built.sha256, 'run-5', 'refreshed');

  cache.invalidate('acme');
  assert.equal((await cache.get('acme', day, false, acme.generate)).built.sha256, 'run-6', 'a generation for the tenant starts it afresh');
  assert.equal((await cache.get('beta', day, false, acme.generate)).cached, true, 'other tenants keep theirs');
  cache.invalidate('');
  assert.equal(
    (await cache.get('beta', day, false, acme.generate)).cached,
    false,
    'a report over every tenant starts every dashboard afresh',
  );
});

test('openings at once share one generation; a failed generation is not kept', async () => {
  const cache = new DashboardReports(300_000);
  const shared = counter();
  const [a, b] = await Promise.all([cache.get('acme', 1, false, shared.generate), cache.get('acme', 1, false, shared.generate)]);
  assert.equal(shared.runs(), 1);
  assert.deepEqual([a.cached, b.cached, b.built.sha256], [false, true, 'run-1']);

  await assert.rejects(
    cache.get('beta', 1, false, async () => Promise.reject(new Error('storage unavailable'))),
    /storage unavailable/,
  );
  const retried = counter();
  assert.equal((await cache.get('beta', 1, false, retried.generate)).cached, false);
  assert.equal(retried.runs(), 1);
});
