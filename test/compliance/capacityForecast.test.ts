import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearTrend } from '../../src/compliance/capacitySection.js';

test('the capacity forecast line goes through the days exactly when they lie on one', () => {
  const { slope, intercept } = linearTrend([100, 150, 200, 250]);
  assert.equal(slope, 50);
  assert.equal(intercept, 100);
  // 30 days after the last of four days: day index 33.
  assert.equal(intercept + slope * 33, 1750);
});

test('the least-squares line through scattered days, and the degenerate cases', () => {
  const { slope, intercept } = linearTrend([10, 30, 20, 40]);
  // x̄ = 1.5, ȳ = 25, Σ(x−x̄)(y−ȳ) = 40, Σ(x−x̄)² = 5: slope 8, intercept 25 − 8 × 1.5.
  assert.equal(slope, 8);
  assert.equal(intercept, 13);
  assert.deepEqual(linearTrend([]), { slope: 0, intercept: 0 });
  assert.deepEqual(linearTrend([42]), { slope: 0, intercept: 42 });
  assert.deepEqual(linearTrend([7, 7, 7]), { slope: 0, intercept: 7 });
});
