import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { lokiCall } from '../../support/lokiCall.js';
import { waitFor } from '../../support/waitFor.js';

type Categories = { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> };
interface TailFrame {
  streams: { stream: Record<string, string>; values: [string, string, Categories?][] }[];
  encodingFlags?: string[];
}

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

/** Pushes one JSON line with structured metadata through Loki's push API, stamped now. */
async function push(line: string, metadata: Record<string, string>): Promise<string> {
  const ts = String(BigInt(Date.now()) * 1_000_000n);
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme', 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { service_name: 'checkout', env: 'prod' }, values: [[ts, line, metadata]] }] }),
  });
  assert.equal(response.status, 204, await response.text());
  return ts;
}

/** A Loki tail WebSocket opened as Grafana opens it (with or without categorize-labels), its frames collected. */
async function openTail(query: string, categorize: boolean) {
  const url = `${meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}`;
  const headers: Record<string, string> = { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' };
  if (categorize) headers['x-loki-response-encoding-flags'] = 'categorize-labels';
  const socket = new WebSocket(url, { headers });
  const frames: TailFrame[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as TailFrame));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const entries = () =>
    frames.flatMap((frame) =>
      frame.streams.flatMap((stream) => stream.values.map(([ts, line, categories]) => ({ ts, line, stream: stream.stream, categories }))),
    );
  return { socket, frames, entries };
}

const query = '{service_name="checkout"} | json';

test("a categorize-labels tail sends stream labels only, with each entry's structured metadata and parsed labels as query_range does, in history and live", async () => {
  const historyTs = await push('{"user":"ann","status":"500"}', { request_tag: 'r-1' });
  // Committed before the tail opens, so it comes as history (a line committed while a tail opens may come twice).
  await waitFor(
    async () =>
      (await lokiCall(meshlog, 'acme', '/loki/api/v1/query_range', { query, start: historyTs, end: String(BigInt(historyTs) + 1n) })).body
        ?.data?.result?.length > 0,
    { what: 'the history line to commit' },
  );
  const tail = await openTail(query, true);
  try {
    const history = await waitFor(() => tail.entries().find((entry) => entry.ts === historyTs), { what: 'the history line' });
    const liveTs = await push('{"user":"bob","status":"200"}', { request_tag: 'r-2' });
    const live = await waitFor(() => tail.entries().find((entry) => entry.ts === liveTs), { what: 'the live line' });
    assert.ok(
      tail.frames.every((frame) => JSON.stringify(frame.encodingFlags) === '["categorize-labels"]'),
      "every frame echoes the flags, as Loki's EncodeTailResult",
    );
    for (const entry of [history, live]) {
      assert.deepEqual(
        entry.stream,
        { env: 'prod', service_name: 'checkout' },
        'no structured metadata or parsed label among the stream labels',
      );
    }
    assert.deepEqual(history.categories?.parsed, { status: '500', user: 'ann' });
    assert.deepEqual(live.categories?.parsed, { status: '200', user: 'bob' });
    assert.equal(history.categories?.structuredMetadata?.request_tag, 'r-1');
    assert.equal(live.categories?.structuredMetadata?.request_tag, 'r-2');

    // The same lines through query_range with the same flag: the same stream and categories, entry for entry.
    const range = await lokiCall(
      meshlog,
      'acme',
      '/loki/api/v1/query_range',
      { query, start: String(BigInt(historyTs) - 1n), end: String(BigInt(liveTs) + 1n), direction: 'forward' },
      { headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } },
    );
    assert.equal(range.status, 200, range.text);
    const ranged = (range.body.data.result as TailFrame['streams']).flatMap((stream) =>
      stream.values.map(([ts, line, categories]) => ({ ts, line, stream: stream.stream, categories })),
    );
    assert.deepEqual([history, live], ranged);
  } finally {
    tail.socket.close();
  }
});

test("without the flag a tail keeps Loki's plain encoding: every label on the stream, two-element entries, no encodingFlags", async () => {
  const tail = await openTail(query, false);
  try {
    const ts = await push('{"user":"cy","status":"404"}', { request_tag: 'r-3' });
    const entry = await waitFor(() => tail.entries().find((candidate) => candidate.ts === ts), { what: 'the live line' });
    assert.equal(entry.categories, undefined);
    assert.equal(entry.stream.user, 'cy');
    assert.equal(entry.stream.request_tag, 'r-3');
    assert.ok(tail.frames.every((frame) => frame.encodingFlags === undefined));
  } finally {
    tail.socket.close();
  }
});
