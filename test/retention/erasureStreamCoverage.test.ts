import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamMessageCovered } from '../../src/retention/erasureRequests.js';

const executedAtMs = Date.parse('2026-12-07T12:00:00.000Z');

test("an erasure covers the stream up to the sequence of its first execution, whatever the node's and the stream's clocks say", () => {
  const erasure = { streamUntilSeq: 1_000, streamUntilMs: executedAtMs };
  // The stream's clock runs ahead of the executing node's: a message taken before the execution carries a later time.
  assert.equal(streamMessageCovered(erasure, 999, executedAtMs + 5_000), true, 'taken before the execution: covered');
  assert.equal(streamMessageCovered(erasure, 1_000, executedAtMs + 5_000), true, 'the last message before it: covered');
  // Behind: a message taken after the execution carries an earlier time, and is new data, kept.
  assert.equal(streamMessageCovered(erasure, 1_001, executedAtMs - 5_000), false, 'taken after the execution: not covered');
});

test('evidence written before sequences were recorded covers the stream up to the execution time', () => {
  const older = { streamUntilSeq: undefined, streamUntilMs: executedAtMs };
  assert.equal(streamMessageCovered(older, 5, executedAtMs), true);
  assert.equal(streamMessageCovered(older, 5, executedAtMs + 1), false);
});
