import assert from 'node:assert/strict';
import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { DiskBuffer } from '../../src/agent/delivery/diskBuffer.js';
import { retryDelay } from '../../src/agent/delivery/retryDelay.js';
import { tempDataDir } from '../support/meshlogProcess.js';

const logger = pino({ level: 'silent' });
const options = { maxBytes: 1024 * 1024, segmentBytes: 300, fsync: false };

function source(offset: number) {
  return [{ key: '1:2:abc', path: '/var/log/app.log', dev: 1, ino: 2, fp: 'abc', fp_len: 3, offset, lines: 1 }];
}

test('disk buffer: frames survive a reopen, a torn last frame is cut off, acknowledged segments are deleted', async () => {
  const dir = tempDataDir('meshlog-agent-buffer-');
  const first = await DiskBuffer.open(dir, options, 0, logger);
  for (let i = 1; i <= 6; i++) await first.buffer.append({ records: 1, sources: source(i * 100) }, Buffer.from(`body-${i}-${'x'.repeat(100)}`));
  await first.buffer.close();
  const segments = readdirSync(dir).sort();
  assert.ok(segments.length > 1, 'appends rolled over into several segments');

  // The agent died in the middle of writing its last frame.
  const last = join(dir, segments.at(-1)!);
  truncateSync(last, statSync(last).size - 10);

  const reopened = await DiskBuffer.open(dir, options, 2, logger);
  assert.deepEqual(
    reopened.pending.map((header) => header.seq),
    [3, 4, 5],
    'frames after the acknowledged one, without the torn one',
  );
  assert.equal(reopened.pending.at(-1)!.sources[0].offset, 500, 'reading resumes after the last intact frame');
  assert.equal(reopened.buffer.nextSeq, 6);
  const frame = await reopened.buffer.next();
  assert.equal(frame.header.seq, 3);
  assert.equal(frame.body.toString(), `body-3-${'x'.repeat(100)}`);

  await reopened.buffer.next();
  await reopened.buffer.next();
  const before = readdirSync(dir).length;
  await reopened.buffer.release(5);
  assert.ok(readdirSync(dir).length < before, 'segments wholly acknowledged are deleted');
  await reopened.buffer.close();
});

test('retry delay: exponential with jitter under the cap, never shorter than Retry-After', () => {
  const limits = { initialMs: 100, maxMs: 2_000 };
  for (let attempt = 0; attempt < 12; attempt++) {
    const delay = retryDelay(attempt, limits);
    assert.ok(delay >= 50 && delay <= Math.min(2_000, 100 * 2 ** attempt), `attempt ${attempt}: ${delay}`);
  }
  assert.ok(retryDelay(0, limits, '7') >= 7_000, 'Retry-After in seconds');
  assert.ok(retryDelay(0, limits, new Date(Date.now() + 60_000).toUTCString()) >= 58_000, 'Retry-After as an HTTP date');
  assert.ok(retryDelay(0, limits, 'soon') <= 100, 'an unreadable Retry-After is ignored');
});
