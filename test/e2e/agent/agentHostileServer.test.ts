import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { retryAfterCapMs, retryDelay } from '../../../src/agent/delivery/retryDelay.js';
import { startAgent, waitUntil, type RunningAgent } from '../../support/agentProcess.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/** A server on a real socket: `answer` decides what the nth POST (from 0) gets; every POST body is kept. */
async function server(answer: (post: number, request: IncomingMessage, response: ServerResponse) => void) {
  const posts: Buffer[] = [];
  const gets: string[] = [];
  const http = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST') {
        gets.push(request.url ?? '');
        response.end('welcome');
        return;
      }
      posts.push(Buffer.concat(chunks));
      answer(posts.length - 1, request, response);
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const close = () => {
    http.closeAllConnections();
    http.close();
  };
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, posts, gets, close };
}

const accept = (_post: number, _request: IncomingMessage, response: ServerResponse) => response.end();

/** The real agent reading one file of 3 lines, sending to `servers`; resolves once the whole file is acknowledged. */
async function shipOneFile(servers: string[], delivery: Record<string, unknown> = {}): Promise<RunningAgent> {
  const root = tempDataDir('meshlog-agent-hostile-');
  mkdirSync(join(root, 'logs'));
  const file = join(root, 'logs', 'app.log');
  appendFileSync(file, 'line one\nline two\nline three\n');
  const agent = await startAgent({
    servers,
    data_dir: join(root, 'agent-data'),
    files: [{ paths: [join(root, 'logs', '*.log')] }],
    poll_interval_ms: 50,
    batch: { max_wait_ms: 50 },
    delivery: { retry_initial_ms: 50, retry_max_ms: 200, ...delivery },
  });
  try {
    await waitUntil('the file is acknowledged', async () => {
      const source = (await agent.sources()).find((candidate) => candidate.path === file);
      return source?.acked_offset === statSync(file).size;
    });
  } catch (error) {
    await agent.stop();
    throw error;
  }
  return agent;
}

test('a 302 to a page that answers 200 is not an acknowledgement: the batch is sent again until a server stores it', async () => {
  const target = await server((post, _request, response) => {
    if (post === 0) response.writeHead(302, { location: '/landing' }).end();
    else response.end();
  });
  const agent = await shipOneFile([target.url]);
  await agent.stop();
  target.close();
  assert.deepEqual(target.gets, [], 'the redirect was not followed as a GET');
  assert.equal(target.posts.length, 2, 'sent again after the redirect');
  assert.ok(target.posts[1].equals(target.posts[0]), 'the same bytes, so the same record ids');
  assert.ok(agent.output().includes('redirect to /landing'), 'the log says where the server points');
});

const cutShort: [string, (response: ServerResponse) => void][] = [
  [
    'closes the connection mid-answer',
    (response) => {
      response.writeHead(200, { 'content-length': '1000' });
      // Closed once the status line and a first byte are out: the agent sees a 200 whose answer never completes.
      response.write('x', () => setImmediate(() => response.socket?.destroy()));
    },
  ],
  [
    'stops answering mid-answer (the request times out)',
    (response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('x');
    },
  ],
];

for (const [what, answer] of cutShort) {
  test(`a 200 whose server ${what} is sent again, at least once`, async () => {
    const target = await server((post, _request, response) => (post === 0 ? answer(response) : response.end()));
    const agent = await shipOneFile([target.url], { request_timeout_ms: 1_000 });
    await agent.stop();
    target.close();
    assert.equal(target.posts.length, 2, 'the batch whose answer was cut short is sent again');
    assert.ok(target.posts[1].equals(target.posts[0]));
  });
}

test("one server's Retry-After of an hour does not hold the batch back from the next server", async () => {
  const busy = await server((_post, _request, response) => response.writeHead(429, { 'retry-after': '3600' }).end());
  const free = await server(accept);
  const agent = await shipOneFile([busy.url, free.url]);
  await agent.stop();
  busy.close();
  free.close();
  assert.equal(busy.posts.length, 1);
  assert.equal(free.posts.length, 1);
});

test('a Retry-After beyond what setTimeout can wait is capped, not turned into a retry every millisecond', () => {
  const limits = { initialMs: 100, maxMs: 2_000 };
  // 2^31 ms and more: setTimeout would fire at once.
  for (const seconds of ['2147484', '4000000000']) assert.equal(retryDelay(0, limits, seconds), retryAfterCapMs, seconds);
  assert.ok(retryAfterCapMs < 2 ** 31 - 1);
  assert.equal(retryDelay(0, limits, '60'), 60_000, 'a reasonable Retry-After is honoured as asked');
});
