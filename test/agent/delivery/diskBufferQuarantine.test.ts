import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { defaultBufferKeyFile, loadBufferKey } from '../../../src/agent/delivery/bufferKey.js';
import { DiskBuffer } from '../../../src/agent/delivery/diskBuffer.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

const logger = pino({ level: 'silent' });

function source(offset: number) {
  return [{ key: '1:2:abc', path: '/var/log/app.log', dev: 1, ino: 2, fp: 'abc', fp_len: 3, offset, lines: 1 }];
}

/** A buffer under <dataDir>/buffer with frames 1..count (bodies `body-<n>`), and where each frame starts and ends. */
async function filledBuffer(count: number, extra: { key?: Buffer; segmentBytes?: number; dataDir?: string } = {}) {
  const dataDir = extra.dataDir ?? tempDataDir('meshlog-quarantine-');
  const dir = join(dataDir, 'buffer');
  const options = { maxBytes: 1 << 20, segmentBytes: extra.segmentBytes ?? 1 << 20, fsync: false, key: extra.key };
  const { buffer } = await DiskBuffer.open(dir, options, 0, logger);
  const spans: { start: number; end: number }[] = [];
  for (let i = 1; i <= count; i++) {
    const before = buffer.bytes;
    await buffer.append({ records: 1, sources: source(i * 100) }, Buffer.from(`body-${i}`));
    spans.push({ start: before, end: buffer.bytes });
  }
  return { dataDir, dir, options, buffer, spans, segment: join(dir, readdirSync(dir).sort()[0]) };
}

async function readBodies(buffer: DiskBuffer, count: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) bodies.push((await buffer.next()).body.toString());
  return bodies;
}

function patch(path: string, change: (bytes: Buffer) => void): void {
  const bytes = readFileSync(path);
  change(bytes);
  writeFileSync(path, bytes);
}

test('a frame rotted on disk in the middle of a segment is quarantined at restart, and every frame after it is read', async () => {
  const { dataDir, dir, options, buffer, spans, segment } = await filledBuffer(5);
  await buffer.close();
  const original = readFileSync(segment).subarray(spans[2].start, spans[2].end);
  patch(segment, (bytes) => (bytes[spans[2].end - 2] ^= 0x01));

  const reopened = await DiskBuffer.open(dir, options, 1, logger);
  assert.deepEqual(
    reopened.pending.map((header) => header.seq),
    [2, 4, 5],
    'the frames after the rotted one are kept, not cut off as a torn tail',
  );
  assert.deepEqual(await readBodies(reopened.buffer, 3), ['body-2', 'body-4', 'body-5']);
  assert.equal(reopened.buffer.corruptFrames, 1);
  const quarantine = join(dataDir, 'quarantine');
  const [copy] = readdirSync(quarantine);
  assert.equal(copy, `${readdirSync(dir)[0].replace('.seg', '')}-${spans[2].start}.frame`, 'named by segment and offset');
  const kept = readFileSync(join(quarantine, copy));
  assert.equal(kept.length, original.length, 'exactly the rotted frame is moved aside');
  assert.equal(Buffer.compare(kept.subarray(0, -2), original.subarray(0, -2)), 0);
  await reopened.buffer.close();
});

test('a frame whose length prefix rotted to gigabytes is quarantined, and reading finds the next frame', async () => {
  const { buffer, spans, segment } = await filledBuffer(4);
  patch(segment, (bytes) => bytes.writeUInt32BE(0xfffffff0, spans[1].start));
  assert.deepEqual(await readBodies(buffer, 3), ['body-1', 'body-3', 'body-4']);
  assert.equal(buffer.corruptFrames, 1);
  await buffer.close();
});

test('an encrypted frame that fails authentication while the agent runs is quarantined; the next ones are sent', async () => {
  const dataDir = tempDataDir('meshlog-quarantine-sealed-');
  const key = loadBufferKey(defaultBufferKeyFile(dataDir), dataDir);
  const { buffer, spans, segment } = await filledBuffer(3, { key, dataDir });
  // The GCM tag of frame 2 is forged and its CRC made to match: only authentication can tell.
  patch(segment, (bytes) => {
    bytes[spans[1].end - 1] ^= 0xff;
    bytes.writeUInt32BE(crc32(bytes.subarray(spans[1].start + 8, spans[1].end)), spans[1].start + 4);
  });
  assert.deepEqual(await readBodies(buffer, 2), ['body-1', 'body-3']);
  assert.equal(buffer.corruptFrames, 1);
  const [copy] = readdirSync(join(dataDir, 'quarantine'));
  assert.equal(readFileSync(join(dataDir, 'quarantine', copy)).includes('body-2'), false, 'the quarantined copy stays encrypted');
  await buffer.close();
});

test('a buffer sealed with another key stops sending instead of quarantining every frame', async () => {
  const dataDir = tempDataDir('meshlog-quarantine-wrongkey-');
  const { dir, options, buffer } = await filledBuffer(2, { key: Buffer.alloc(32, 1), dataDir });
  await buffer.close();
  const wrong = await DiskBuffer.open(dir, { ...options, key: Buffer.alloc(32, 2) }, 0, logger);
  await assert.rejects(wrong.buffer.next(), /encrypted with another key/);
  assert.equal(wrong.buffer.corruptFrames, 0);
  await wrong.buffer.close();
});

test('a segment file deleted under the running agent: the frames of the others are still read, the loss is counted', async () => {
  // One frame per segment: 1, 2, 3 in their own files, 3 being written to.
  const { dir, buffer } = await filledBuffer(3, { segmentBytes: 1 });
  const segments = readdirSync(dir).sort();
  assert.equal(segments.length, 3);
  rmSync(join(dir, segments[1]));
  // The segment being written to: read through the writer's own handle, so nothing in it is lost.
  rmSync(join(dir, segments[2]));
  assert.deepEqual(await readBodies(buffer, 2), ['body-1', 'body-3']);
  assert.equal(buffer.missingSegments, 1);
  assert.equal(buffer.corruptFrames, 0);
  await buffer.close();
});
