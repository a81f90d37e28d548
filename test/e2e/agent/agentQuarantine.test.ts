import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { pino } from 'pino';
import { defaultBufferKeyFile, loadBufferKey } from '../../../src/agent/delivery/bufferKey.js';
import { DiskBuffer } from '../../../src/agent/delivery/diskBuffer.js';
import { startAgent, waitUntil } from '../../support/agentProcess.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

const logger = pino({ level: 'silent' });

// The agent used to stop shipping for good at an unreadable frame (and a restart cut off every frame after it).
test('the real agent moves a rotted buffered batch aside, names it in its log and metrics, and ships every batch after it', async () => {
  const root = tempDataDir('meshlog-agent-quarantine-');
  const dataDir = join(root, 'agent-data');
  mkdirSync(join(root, 'logs'));
  const key = loadBufferKey(defaultBufferKeyFile(dataDir), dataDir);
  const { buffer } = await DiskBuffer.open(
    join(dataDir, 'buffer'),
    { maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: false, key },
    0,
    logger,
  );
  const spans: { start: number; end: number }[] = [];
  for (let i = 1; i <= 5; i++) {
    const start = buffer.bytes;
    await buffer.append({ records: 1, sources: [] }, Buffer.from(`batch-${i}`));
    spans.push({ start, end: buffer.bytes });
  }
  await buffer.close();
  const [segmentName] = readdirSync(join(dataDir, 'buffer'));
  const segment = join(dataDir, 'buffer', segmentName);
  const bytes = readFileSync(segment);
  bytes[spans[2].start + 40] ^= 0x10;
  writeFileSync(segment, bytes);

  const received: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(Buffer.concat(chunks).toString());
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const agent = await startAgent({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    data_dir: dataDir,
    files: [{ paths: [join(root, 'logs', '*.log')] }],
    poll_interval_ms: 50,
    delivery: { retry_initial_ms: 50, retry_max_ms: 400 },
  });
  try {
    const checkpoints = join(dataDir, 'checkpoints.json');
    await waitUntil('the agent acknowledged the last batch', () => {
      try {
        return (JSON.parse(readFileSync(checkpoints, 'utf8')) as { acked_seq: number }).acked_seq === 5;
      } catch {
        return false;
      }
    });
    assert.deepEqual(received, ['batch-1', 'batch-2', 'batch-4', 'batch-5']);
    assert.equal(await agent.metric('meshlog_agent_buffer_corrupt_frames_total'), 1);
    const quarantined = readdirSync(join(dataDir, 'quarantine'));
    assert.deepEqual(quarantined, [`${segmentName.replace('.seg', '')}-${spans[2].start}.frame`]);
    const logged = agent
      .output()
      .split('\n')
      .find((line) => line.includes('unreadable batch in the disk buffer'));
    assert.ok(logged, 'an error is logged');
    const entry = JSON.parse(logged) as { level: number; segment: string; offset: number; quarantined: string };
    assert.equal(entry.level, 50);
    assert.deepEqual([entry.segment, entry.offset], [segment, spans[2].start]);
    assert.equal(logged.includes(key.toString('hex')), false, 'the key is not logged');
  } finally {
    await agent.stop();
    server.close();
  }
});

// The agent reading stdin waited for the acknowledgement of its last batch, which an unreadable batch never gets: it never exited.
test('the real agent reading stdin exits (code 1, naming what was not sent) when its last batch is unreadable in the buffer', async () => {
  const root = tempDataDir('meshlog-agent-stdin-quarantine-');
  const dataDir = join(root, 'agent-data');
  const received: string[] = [];
  let answerFirst: () => void = () => undefined;
  const firstHeld = new Promise<void>((resolve) => (answerFirst = resolve));
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      // The protobuf holds each line's bytes as they are.
      received.push((request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('latin1'));
      // The first batch is answered only once the second one is in the buffer, damaged: the shipper reads it after.
      void firstHeld.then(() => response.end());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const agent = await startAgent(
    {
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      data_dir: dataDir,
      stdin: true,
      batch: { max_wait_ms: 50 },
      delivery: { max_in_flight: 1, retry_initial_ms: 50, retry_max_ms: 400 },
    },
    { stdin: true },
  );
  let exitCode: number | null | undefined;
  agent.process.once('exit', (code) => (exitCode = code));
  try {
    agent.process.stdin!.write('first line\n');
    await waitUntil('the first batch is sent (and held)', () => received.length === 1);
    // No newline at the end: the last line and the end of stdin are one batch, the last one.
    agent.process.stdin!.end('last line');
    const bufferDir = join(dataDir, 'buffer');
    const mark = Buffer.from('{"records":');
    const framesAt = () => {
      const [segment] = readdirSync(bufferDir).filter((name) => name.endsWith('.seg'));
      const bytes = segment ? readFileSync(join(bufferDir, segment)) : Buffer.alloc(0);
      const starts: number[] = [];
      for (let at = bytes.indexOf(mark); at !== -1; at = bytes.indexOf(mark, at + 1)) starts.push(at);
      return { path: segment && join(bufferDir, segment), starts, length: bytes.length };
    };
    await waitUntil('the last batch is in the buffer', () => framesAt().starts.length === 2);
    const { path, starts, length } = framesAt();
    // One byte of the last batch's body rotted on disk: its CRC no longer matches.
    const handle = openSync(path!, 'r+');
    const at = Math.floor((starts[1] + length) / 2);
    const byte = Buffer.alloc(1);
    readSync(handle, byte, 0, 1, at);
    byte[0] ^= 0x10;
    writeSync(handle, byte, 0, 1, at);
    closeSync(handle);
    answerFirst();
    await waitUntil('the agent exits', () => exitCode !== undefined);
    assert.equal(exitCode, 1, 'lines were not sent: not a clean exit');
    assert.equal(received.length, 1, 'the unreadable batch is not sent');
    assert.match(received[0], /first line/);
    assert.equal(readdirSync(join(dataDir, 'quarantine')).length, 1);
    assert.match(agent.output(), /batches that could not be read back from the disk buffer were not sent/);
    assert.match(agent.output(), /"unsent_batches":1/);
  } finally {
    if (exitCode === undefined) await agent.kill();
    server.close();
  }
});
