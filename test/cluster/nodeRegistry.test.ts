import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodesTaking, type Heartbeat } from '../../src/cluster/nodeRegistry.js';

const liveMs = 15_000;
const own = { node: 'a', role: 'all' as const, storedAt: 100_000 };
const beat = (node: string, value: unknown, storedAt = 99_000): Heartbeat => ({ node, value, storedAt });

test('live nodes are counted by the traffic their role takes', () => {
  const counts = nodesTaking([beat('b', { role: 'all' }), beat('g', { role: 'gateway' }), beat('w', { role: 'writer' })], own, liveMs);
  assert.deepEqual(counts, { ingest: 3, query: 3 });
  assert.deepEqual(nodesTaking([], own, liveMs), { ingest: 1, query: 1 });
});

test('a gateway alone counts itself for ingest and never 0 for queries', () => {
  assert.deepEqual(nodesTaking([], { ...own, role: 'gateway' }, liveMs), { ingest: 1, query: 1 });
});

test('a heartbeat older than the live window, by the server clock, is not counted, whatever time its value claims', () => {
  const stale = beat('b', { role: 'all', at: 10_000_000_000 }, own.storedAt - liveMs - 1);
  assert.deepEqual(nodesTaking([stale, beat('c', { role: 'all' })], own, liveMs), { ingest: 2, query: 2 });
});

test('a lying value raises no share: extra fields are ignored, no role is no node, this node counts once from its own config', () => {
  const lies = [
    beat('b', { role: 'all', weight: 0.01, nodes: 1 }),
    beat('c', 'all'),
    beat('d', null),
    beat('e', { role: 'leader' }),
    // Written under this node's own name by another: this node's config decides its role, and it is counted once.
    beat('a', { role: 'writer' }),
  ];
  assert.deepEqual(nodesTaking(lies, own, liveMs), { ingest: 2, query: 2 });
});
