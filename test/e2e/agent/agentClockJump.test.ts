import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent, waitUntil } from '../../support/agentProcess.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

// The machine's clock is shared with every other process here: the jump is made inside the agent only, by a module
// loaded before it that sets Date.now back an hour on SIGUSR2 (what an NTP step or an operator's `date -s` does).
const clockJump = `
const wallClock = Date.now;
process.on('SIGUSR2', () => {
  Date.now = () => wallClock() - 3_600_000;
  console.log(JSON.stringify({ msg: 'wall clock set back an hour' }));
});
`;

test('the wall clock set back an hour holds back neither a quiet batch nor a file created after the jump', async () => {
  const root = tempDataDir('meshlog-agent-clock-');
  mkdirSync(join(root, 'logs'));
  const preload = join(root, 'clock-jump.mjs');
  writeFileSync(preload, clockJump);
  const http = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end());
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const agent = await startAgent(
    {
      server: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      data_dir: join(root, 'agent-data'),
      files: [{ paths: [join(root, 'logs', '*.log')] }],
      poll_interval_ms: 50,
      // Far more lines than written: only max_wait_ms seals the batch.
      batch: { max_wait_ms: 500, max_records: 10_000 },
      delivery: { retry_initial_ms: 50, retry_max_ms: 200 },
    },
    { nodeArgs: ['--import', preload] },
  );
  const acknowledged = async (path: string) =>
    (await agent.sources()).find((source) => source.path === path)?.acked_offset === statSync(path).size;
  try {
    const before = join(root, 'logs', 'before.log');
    appendFileSync(before, 'before the jump\n');
    await waitUntil('the first file is acknowledged', () => acknowledged(before));

    appendFileSync(before, 'a quiet line, read just before the jump\n');
    await waitUntil('the line is read', async () => (await agent.sources())[0].read_offset === statSync(before).size);
    agent.process.kill('SIGUSR2');
    await waitUntil('the clock jumped', () => agent.output().includes('wall clock set back an hour'));
    const after = join(root, 'logs', 'after.log');
    appendFileSync(after, 'in a file created after the jump\n');

    await waitUntil('the quiet batch is sealed and acknowledged', () => acknowledged(before));
    await waitUntil('the new file is found and acknowledged', () => acknowledged(after));
    assert.equal(
      (await agent.sources()).reduce((sum, source) => sum + source.lines_acked, 0),
      3,
    );
  } finally {
    await agent.stop();
    http.close();
  }
});
