import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';

interface TailFrame {
  streams: { stream: Record<string, string>; values: [string, string][] }[];
  dropped_lines?: number;
}

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;

before(async () => {
  // A small buffer so the stalled subscriber overflows it quickly.
  meshlog = await startMeshlog({ env: { MESHLOG_TAIL_BUFFER_LINES: '50' } });
});

after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

function push(service: string, bodies: string[], tenant = 'acme'): Promise<Response> {
  return postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest(service, bodies), { 'x-scope-orgid': tenant });
}

/** A Loki tail WebSocket with its frames queued as they arrive (and when). */
async function openTail(query: string, params = '', tenant = 'acme') {
  const url = `${meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}${params}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant } });
  const frames: { frame: TailFrame; at: number }[] = [];
  let notify: (() => void) | undefined;
  socket.on('message', (data) => {
    frames.push({ frame: JSON.parse(data.toString()) as TailFrame, at: Date.now() });
    notify?.();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const waitFor = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!done()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames.map((f) => f.frame)).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        notify = resolve;
        setTimeout(resolve, 200);
      });
    }
  };
  const lines = () =>
    frames.flatMap(({ frame, at }) => frame.streams.flatMap((s) => s.values.map(([ts, line]) => ({ ts, line, labels: s.stream, at }))));
  return { socket, frames, lines, waitFor };
}

test('a WebSocket tail gets history, then matching lines as they commit (no polling delay), filtered by selector and line filter', async () => {
  assert.equal((await push('web', ['error: history before the tail opened'])).status, 200);
  const tail = await openTail('{service_name="web"} |= "error"');
  await tail.waitFor(() => tail.lines().length === 1, 'history');
  assert.equal(tail.lines()[0].line, 'error: history before the tail opened');

  const pushedAt = Date.now();
  assert.equal((await push('web', ['GET /health 200', 'error: payment refused'])).status, 200);
  const committedAt = Date.now();
  assert.equal((await push('api', ['error: other service'])).status, 200);
  assert.equal((await push('web', ['error: other tenant'], 'beta')).status, 200);
  const answeredAt = Date.now();
  await tail.waitFor(() => tail.lines().length === 2, 'the live line');
  const live = tail.lines()[1];
  assert.equal(live.line, 'error: payment refused');
  assert.equal(live.labels.service_name, 'web');
  // The line is sent at its commit, not on a poll: it arrives within 1 s of the commit, plus as long again as
  // the server took to answer the pushes around it (a loaded machine slows everything, a poll interval only the tail).
  const slack = 1000 + (committedAt - pushedAt) + (answeredAt - committedAt);
  assert.ok(live.at - committedAt < slack, `seen ${live.at - committedAt} ms after commit (bound ${slack} ms)`);
  // Nothing else arrives: the other service, the other tenant and the non-matching line were filtered.
  assert.equal((await push('web', ['error: marker'])).status, 200);
  await tail.waitFor(() => tail.lines().length === 3, 'the marker');
  assert.deepEqual(
    tail.lines().map((l) => l.line),
    ['error: history before the tail opened', 'error: payment refused', 'error: marker'],
  );
  tail.socket.close();
});

test('a bad tail query is refused with 400 before the upgrade', async () => {
  const url = `${meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('sum(rate({a="b"}[1m]))')}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${meshlog.token}` } });
  const status = await new Promise<number>((resolve) =>
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)),
  );
  assert.equal(status, 400);
});

test('a stalled subscriber is told how many lines it dropped, and ingest goes on meanwhile', async () => {
  const tail = await openTail('{service_name="bulk"}', `&start=${Date.now()}000000`);
  tail.socket.pause();
  // About 16 MB of matching lines: more than the socket buffers and the 50-line tail buffer hold.
  const requests = 40;
  const perRequest = 200;
  const padding = 'x'.repeat(2000);
  for (let r = 0; r < requests; r++) {
    const response = await push(
      'bulk',
      Array.from({ length: perRequest }, (_, i) => `line ${r}-${i} ${padding}`),
    );
    assert.equal(response.status, 200);
  }
  tail.socket.resume();
  const total = requests * perRequest;
  const accounted = () => tail.lines().length + tail.frames.reduce((sum, { frame }) => sum + (frame.dropped_lines ?? 0), 0);
  await tail.waitFor(() => accounted() === total, 'every line received or counted as dropped');
  const dropped = tail.frames.reduce((sum, { frame }) => sum + (frame.dropped_lines ?? 0), 0);
  assert.ok(dropped > 0, 'some lines were dropped');
  assert.ok(tail.lines().length > 0, 'the subscriber still got lines');
  // What arrives after the drop is in commit order.
  const received = tail.lines().map((l) => l.line.split(' ')[1]);
  const order = received.map((id) => id.split('-').map(Number)).map(([r, i]) => r * perRequest + i);
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
  tail.socket.close();
});

test('the SSE tail streams matching lines as data events', async () => {
  const controller = new AbortController();
  const response = await fetch(`${meshlog.url}/api/v1/tail?query=${encodeURIComponent('{service_name="ui"}')}&start=${Date.now()}000000`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' },
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  assert.equal((await push('ui', ['clicked checkout'])).status, 200);
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  const frame = JSON.parse(text.split('\n')[0].replace(/^data: /, '')) as TailFrame;
  assert.deepEqual(
    frame.streams[0].values.map(([, line]) => line),
    ['clicked checkout'],
  );
  controller.abort();
});

test('meshlog query --tail prints history and then new lines as they are committed', async () => {
  assert.equal((await push('cli', ['first line, before the tail'])).status, 200);
  const child = spawn(
    process.execPath,
    [
      cli,
      'query',
      '{service_name="cli"}',
      '--tail',
      '--output',
      'raw',
      '--server',
      meshlog.url,
      '--token',
      meshlog.token,
      '--org-id',
      'acme',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    const deadline = Date.now() + 60_000;
    const waitForLines = async (count: number) => {
      while (stdout.split('\n').filter(Boolean).length < count) {
        assert.ok(Date.now() < deadline, `tail printed: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await waitForLines(1);
    assert.equal((await push('cli', ['second line, while tailing'])).status, 200);
    await waitForLines(2);
    assert.deepEqual(stdout.split('\n').filter(Boolean), ['first line, before the tail', 'second line, while tailing']);
  } finally {
    child.kill();
  }
});

test('the server stops cleanly with a tail open', async () => {
  const tail = await openTail('{service_name="web"}', `&start=${Date.now()}000000`);
  const closed = new Promise<number>((resolve) => tail.socket.once('close', (code) => resolve(code)));
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  assert.ok((await closed) > 0);
});
