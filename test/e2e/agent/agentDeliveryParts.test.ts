import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { AgentMetrics } from '../../../src/agent/agentMetrics.js';
import { defaultBufferKeyFile, loadBufferKey } from '../../../src/agent/delivery/bufferKey.js';
import { DiskBuffer } from '../../../src/agent/delivery/diskBuffer.js';
import { retryDelay } from '../../../src/agent/delivery/retryDelay.js';
import { Shipper } from '../../../src/agent/delivery/shipper.js';
import { otlpOutput } from '../../../src/agent/outputs/otlpOutput.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

const logger = pino({ level: 'silent' });
const options = { maxBytes: 1024 * 1024, segmentBytes: 300, fsync: false };

function source(offset: number) {
  return [{ key: '1:2:abc', path: '/var/log/app.log', dev: 1, ino: 2, fp: 'abc', fp_len: 3, offset, lines: 1 }];
}

test('disk buffer: frames survive a reopen, a torn last frame is cut off, acknowledged segments are deleted', async () => {
  const dir = tempDataDir('meshlog-agent-buffer-');
  const first = await DiskBuffer.open(dir, options, 0, logger);
  for (let i = 1; i <= 6; i++)
    await first.buffer.append({ records: 1, sources: source(i * 100) }, Buffer.from(`body-${i}-${'x'.repeat(100)}`));
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

test('disk buffer with a key: no batch is on disk in the clear, a reopen reads them back, the wrong key or none is refused', async () => {
  const dataDir = tempDataDir('meshlog-agent-sealed-');
  const dir = join(dataDir, 'buffer');
  const keyFile = defaultBufferKeyFile(dataDir);
  const key = loadBufferKey(keyFile, dataDir);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.deepEqual(loadBufferKey(keyFile, dataDir), key, 'the same key on the next start');
  assert.throws(() => loadBufferKey(join(dataDir, 'inside.key'), dataDir), /inside the data directory/);

  const marker = 'agentcanaryplkmoknij';
  const first = await DiskBuffer.open(dir, { ...options, key }, 0, logger);
  for (let i = 1; i <= 3; i++) await first.buffer.append({ records: 1, sources: source(i * 100) }, Buffer.from(`${marker}-${i}`));
  await first.buffer.close();
  for (const name of readdirSync(dir)) assert.equal(readFileSync(join(dir, name)).includes(marker), false, name);

  const reopened = await DiskBuffer.open(dir, { ...options, key }, 1, logger);
  assert.deepEqual(
    reopened.pending.map((header) => header.seq),
    [2, 3],
  );
  assert.equal((await reopened.buffer.next()).body.toString(), `${marker}-2`);
  await reopened.buffer.close();

  const keyless = await DiskBuffer.open(dir, options, 1, logger);
  await assert.rejects(keyless.buffer.next(), /holds encrypted batches: the agent needs its buffer key/);
  await keyless.buffer.close();
  const wrong = await DiskBuffer.open(dir, { ...options, key: Buffer.alloc(32, 7) }, 1, logger);
  await assert.rejects(wrong.buffer.next(), /encrypted with another key/);
  await wrong.buffer.close();

  // Control: without a key the same bytes are there to read.
  const plainDir = join(dataDir, 'plain');
  const plain = await DiskBuffer.open(plainDir, options, 0, logger);
  await plain.buffer.append({ records: 1, sources: source(100) }, Buffer.from(`${marker}-plain`));
  await plain.buffer.close();
  assert.ok(readdirSync(plainDir).some((name) => readFileSync(join(plainDir, name)).includes(marker)));
});

test('shipper: a batch is no longer held in memory once the server acknowledged it, and stop ends a shipper waiting for more', async () => {
  const dir = tempDataDir('meshlog-agent-shipper-');
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { buffer } = await DiskBuffer.open(dir, { maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, fsync: false }, 0, logger);
  const batches = 40;
  const maxInFlight = 4;
  for (let i = 1; i <= batches; i++) await buffer.append({ records: 1, sources: source(i) }, randomBytes(64 * 1024));

  const shipped: WeakRef<Buffer>[] = [];
  let allShipped: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allShipped = resolve));
  const shipper = new Shipper(
    buffer,
    {
      output: otlpOutput(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`),
      token: undefined,
      tenant: undefined,
      headers: {},
      maxInFlight,
      requestTimeoutMs: 10_000,
      retryInitialMs: 10,
      retryMaxMs: 100,
      rejectedDir: join(dir, 'rejected'),
    },
    async (frame) => {
      shipped.push(new WeakRef(frame.body));
      if (shipped.length === batches) allShipped();
    },
    new AgentMetrics(
      () => buffer.bytes,
      () => [],
    ),
    logger,
  );
  const running = shipper.run();
  try {
    await done;
    // The shipper now waits for a next batch: what it still holds of the sent ones stays held as long as it runs.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await nextTurn();
    gc();
    const held = shipped.filter((body) => body.deref() !== undefined).length;
    assert.ok(held <= maxInFlight, `${held} of ${batches} acknowledged batches still in memory`);
  } finally {
    shipper.stop();
    await running;
    await buffer.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
