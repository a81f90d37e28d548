import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForgottenIds } from '../../src/ingest/forgottenIds.js';

test('the Bloom filter of forgotten ids: every added id is maybe there, other ids almost never; clear() forgets', () => {
  const capacity = 100_000;
  const filter = new ForgottenIds(capacity);
  const id = (prefix: string, i: number) => `default\u0000${prefix}-${i * 173}`;
  for (let i = 0; i < capacity; i++) filter.add(id('3f9a0c21d4e5b6a7', i));
  assert.equal(filter.isFull, true);
  let missing = 0;
  for (let i = 0; i < capacity; i++) if (!filter.mightHave(id('3f9a0c21d4e5b6a7', i))) missing++;
  assert.equal(missing, 0, 'no false negatives: a forgotten id is always looked up');
  let falsePositives = 0;
  for (let i = 0; i < 1_000_000; i++) if (filter.mightHave(id('7b6a5e4d3c2b1a09', i))) falsePositives++;
  assert.ok(falsePositives <= 10, `${falsePositives} false positives in 1,000,000 (designed for 1)`);
  filter.clear();
  assert.equal(filter.mightHave(id('3f9a0c21d4e5b6a7', 0)), false);
  assert.equal(filter.isFull, false);
});
