import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { DiskBuffer } from '../../../src/agent/delivery/diskBuffer.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

const logger = pino({ level: 'silent' });
const options = { maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: false };

function source(offset: number) {
  return [{ key: '1:2:abc', path: '/var/log/app.log', dev: 1, ino: 2, fp: 'abc', fp_len: 3, offset, lines: 1 }];
}

/** The bytes of frames 1..count as the buffer writes them, one Buffer per frame. */
async function writtenFrames(count: number, key?: Buffer): Promise<Buffer[]> {
  const dir = join(tempDataDir('meshlog-frames-'), 'buffer');
  const { buffer } = await DiskBuffer.open(dir, { ...options, key }, 0, logger);
  const ends: number[] = [];
  for (let i = 1; i <= count; i++) {
    await buffer.append({ records: 1, sources: source(i * 100) }, Buffer.from(`body-${i}`));
    ends.push(buffer.bytes);
  }
  await buffer.close();
  const file = readFileSync(join(dir, readdirSync(dir)[0]));
  return ends.map((end, index) => file.subarray(index === 0 ? 0 : ends[index - 1], end));
}

const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(16, '0')}.seg`;

async function readBodies(buffer: DiskBuffer, count: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) bodies.push((await buffer.next()).body.toString());
  return bodies;
}

// The shapes a write cut short leaves at a segment's end (the agent died, or cutTornWrite could not truncate and the
// next append went to a new segment): the restart cuts each back to the last whole frame, and appends land after it.
const tornShapes: [string, (next: Buffer) => Buffer][] = [
  ['half a length prefix', (next) => next.subarray(0, 3)],
  ['half a frame', (next) => next.subarray(0, Math.floor(next.length / 2))],
  ['a whole frame with a bad tag', (next) => Buffer.concat([next.subarray(0, -1), Buffer.from([next.at(-1)! ^ 0xff])])],
];

for (const [shape, torn] of tornShapes) {
  test(`a segment ending in ${shape} is cut to its last whole frame at restart, and later appends read back`, async () => {
    const frames = await writtenFrames(3);
    const dir = join(tempDataDir('meshlog-torn-'), 'buffer');
    const whole = Buffer.concat(frames.slice(0, 2));
    const segment = join(dir, segmentName(1));
    await DiskBuffer.open(dir, options, 0, logger).then(({ buffer }) => buffer.close());
    writeFileSync(segment, Buffer.concat([whole, torn(frames[2])]));

    const { buffer, pending } = await DiskBuffer.open(dir, options, 0, logger);
    assert.equal(statSync(segment).size, whole.length, 'cut to the last whole frame');
    assert.deepEqual(
      pending.map((header) => header.seq),
      [1, 2],
    );
    assert.equal(buffer.nextSeq, 3, 'the torn frame is written again under its own sequence number');
    await buffer.append({ records: 1, sources: source(300) }, Buffer.from('body-3-again'));
    assert.deepEqual(await readBodies(buffer, 3), ['body-1', 'body-2', 'body-3-again']);
    await buffer.close();

    const again = await DiskBuffer.open(dir, options, 0, logger);
    assert.deepEqual(
      again.pending.map((header) => header.seq),
      [1, 2, 3],
      'what was appended after the cut is read back after the next restart too',
    );
    await again.buffer.close();
  });
}

test('a torn frame left in an earlier segment by the cutTornWrite fallback is cut, and the retry in the next segment is read', async () => {
  const frames = await writtenFrames(4);
  const dir = join(tempDataDir('meshlog-torn-fallback-'), 'buffer');
  await DiskBuffer.open(dir, options, 0, logger).then(({ buffer }) => buffer.close());
  const first = join(dir, segmentName(1));
  // The append of frame 3 was cut short and could not be truncated away: it was retried in a new segment.
  writeFileSync(first, Buffer.concat([frames[0], frames[1], frames[2].subarray(0, 20)]));
  writeFileSync(join(dir, segmentName(3)), Buffer.concat([frames[2], frames[3]]));

  const { buffer, pending } = await DiskBuffer.open(dir, { ...options, quarantineDir: join(dir, '..', 'quarantine') }, 0, logger);
  assert.equal(statSync(first).size, frames[0].length + frames[1].length);
  assert.deepEqual(
    pending.map((header) => header.seq),
    [1, 2, 3, 4],
  );
  assert.deepEqual(await readBodies(buffer, 4), ['body-1', 'body-2', 'body-3', 'body-4']);
  assert.equal(buffer.corruptFrames, 0, 'a torn write is not a damaged frame: nothing quarantined');
  await buffer.close();
});
