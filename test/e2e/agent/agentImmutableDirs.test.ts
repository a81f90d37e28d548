import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent, waitUntil, type RunningAgent } from '../../support/agentProcess.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

// chattr +i: no file can be created in or deleted from the dir, even by root (the tests run as root, on ext4).
const immutable = (dir: string, on: boolean) => execFileSync('chattr', [on ? '+i' : '-i', dir]);

/** A server answering `status()` to every POST, on a real socket. */
async function server(status: () => number) {
  let posts = 0;
  const http = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      posts++;
      response.writeHead(status()).end();
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, posts: () => posts, close: () => http.close() };
}

async function agentOn(url: string) {
  const root = tempDataDir('meshlog-agent-immutable-');
  mkdirSync(join(root, 'logs'));
  const file = join(root, 'logs', 'app.log');
  const dataDir = join(root, 'agent-data');
  const agent = await startAgent({
    server: url,
    data_dir: dataDir,
    files: [{ paths: [join(root, 'logs', '*.log')] }],
    poll_interval_ms: 50,
    batch: { max_wait_ms: 50 },
    delivery: { retry_initial_ms: 50, retry_max_ms: 200 },
  });
  const acknowledged = () =>
    waitUntil('the file is acknowledged', async () => {
      const source = (await agent.sources()).find((candidate) => candidate.path === file);
      return source?.acked_offset === statSync(file).size;
    });
  return { agent, file, dataDir, acknowledged };
}

async function assertAlive(agent: RunningAgent): Promise<void> {
  assert.equal(agent.process.exitCode, null, `the agent is still running:\n${agent.output().slice(-2000)}`);
  assert.equal(await agent.stop(), 0, 'and stops cleanly');
}

// Acknowledging used to fail as a whole when the acknowledged segment could not be deleted: the agent died of the
// unhandled rejection (or, had it been caught, every later acknowledgement would have waited behind it for good).
test('a buffer dir where nothing can be deleted or created: acknowledgements go on, and the agent catches up once it is writable', async () => {
  let status = 503;
  const target = await server(() => status);
  const { agent, file, dataDir, acknowledged } = await agentOn(target.url);
  const buffer = join(dataDir, 'buffer');
  try {
    appendFileSync(file, 'one\ntwo\n');
    // Sent (and answered 503) means written to the buffer first.
    await waitUntil('the batch is buffered and was sent once', () => target.posts() >= 1);
    const [segment] = readdirSync(buffer);
    immutable(buffer, true);
    status = 200;
    await acknowledged();
    await waitUntil('the failed deletion is logged', () => agent.output().includes('could not delete an acknowledged disk buffer segment'));
    // The next batch needs a new segment file, which cannot be created yet: retried, not lost.
    appendFileSync(file, 'three\n');
    await waitUntil('an append failed', async () => (await agent.metric('meshlog_agent_buffer_append_failures_total')) > 0);
    immutable(buffer, false);
    await acknowledged();
    await waitUntil('the acknowledged segment is deleted once it can be', () => !existsSync(join(buffer, segment)));
    assert.equal((await agent.sources())[0].lines_acked, 3);
  } finally {
    immutable(buffer, false);
    await assertAlive(agent);
    target.close();
  }
});

test('a batch refused for good while rejected/ cannot take it is sent again, and kept once it can', async () => {
  const target = await server(() => 400);
  const { agent, file, dataDir, acknowledged } = await agentOn(target.url);
  const rejected = join(dataDir, 'rejected');
  mkdirSync(rejected);
  immutable(rejected, true);
  try {
    appendFileSync(file, 'refused\n');
    await waitUntil('the batch was refused twice', () => target.posts() >= 2);
    assert.equal(await agent.metric('meshlog_agent_batches_refused_total'), 0, 'not counted as kept');
    immutable(rejected, false);
    await acknowledged();
    assert.equal(readdirSync(rejected).length, 2, 'the batch and its header are kept');
    assert.equal(await agent.metric('meshlog_agent_batches_refused_total'), 1);
  } finally {
    immutable(rejected, false);
    await assertAlive(agent);
    target.close();
  }
});
