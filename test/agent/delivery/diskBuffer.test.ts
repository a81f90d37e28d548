import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { DiskBuffer } from '../../../src/agent/delivery/diskBuffer.js';

const logger = pino({ level: 'silent' });
const options = { maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: false };

async function emptyBuffer(): Promise<DiskBuffer> {
  return (await DiskBuffer.open(mkdtempSync(join(tmpdir(), 'meshlog-buffer-')), options, 0, logger)).buffer;
}

const frame = (records: number) => ({ records, sources: [] });

// Found by the rolling-restart test: the last batch acknowledged empties the buffer, whose segment is then closed and
// deleted; a batch sealed at that moment was written into the closing file ('file closed') and its lines never sent,
// while the next batch's checkpoint moved past them.
test('a batch appended while the buffer releases its last, fully acknowledged segment is kept and read back', async () => {
  const buffer = await emptyBuffer();
  const first = await buffer.append(frame(1), Buffer.from('first'));
  assert.equal((await buffer.next()).header.seq, first.seq);
  // release() and append() in the same tick: the release is closing the segment while the append arrives.
  const [, second] = await Promise.all([buffer.release(first.seq), buffer.append(frame(2), Buffer.from('second'))]);
  const read = await buffer.next();
  assert.equal(read.header.seq, second.seq);
  assert.equal(read.body.toString(), 'second');
  assert.ok(buffer.bytes > 0, 'the unacknowledged batch still counts in the buffer');
  await buffer.close();
});

test('once every batch is acknowledged and read, the buffer deletes its segment files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-buffer-'));
  const { buffer } = await DiskBuffer.open(dir, options, 0, logger);
  const first = await buffer.append(frame(1), Buffer.from('first'));
  await buffer.next();
  await buffer.release(first.seq);
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(buffer.bytes, 0);
  const second = await buffer.append(frame(1), Buffer.from('again'));
  assert.equal((await buffer.next()).header.seq, second.seq, 'appending after a full release starts a new segment');
  await buffer.close();
});
