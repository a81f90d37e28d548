import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { cpuMsOf } from '../../support/processCpu.js';

// Issue 17, item 4 ("one regex freezes the server") and the LogQL part of item 6 (deep nesting).
// Two servers: one with the default query.timeout (1m) for the long queries that must be
// cancelled by other means, one with query.timeout 1500ms.

let meshlog: RunningMeshlog;
let shortTimeout: RunningMeshlog;
const now = Date.now();
const window = () => `start=${BigInt(now - 30 * 60_000) * 1_000_000n}&end=${BigInt(Date.now() + 60_000) * 1_000_000n}`;

// Heavy but linear work for the engine: a `regexp` stage (which only the engine runs) over
// 3,000 lines of 4 KB costs a few seconds of JavaScript in total, about a millisecond a line.
const heavyLines = 3000;
const heavyQuery = 'sum(count_over_time({service_name="heavy"} | regexp "(?P<x>[a-z]+\\\\d)" [1h]))';

async function push(target: RunningMeshlog, service: string, lines: string[]): Promise<void> {
  for (let from = 0; from < lines.length; from += 500) {
    const values = lines.slice(from, from + 500).map((line, i) => [`${BigInt(now - 20 * 60_000 + (from + i) * 10) * 1_000_000n}`, line]);
    const pushed = await fetch(`${target.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { service_name: service }, values }] }),
    });
    assert.equal(pushed.status, 204, await pushed.text());
  }
}

const heavy = Array.from({ length: heavyLines }, (_, i) => `msg=${'a'.repeat(4000)} n=${i}`);

async function waitForLines(target: RunningMeshlog, service: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await get(target, '/loki/api/v1/query', {
      query: `sum(count_over_time({service_name="${service}"}[1h]))`,
      time: String(BigInt(Date.now()) * 1_000_000n),
    });
    const body = JSON.parse(answer.text) as { data: { result: { value: [number, string] }[] } };
    if (Number(body.data.result[0]?.value[1] ?? 0) >= count) return;
    assert.ok(Date.now() < deadline, `${service}: ${count} lines not queryable after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function get(
  target: RunningMeshlog,
  path: string,
  params: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${target.url}${path}?${new URLSearchParams(params)}`, {
    headers: { authorization: `Bearer ${target.token}` },
    signal,
  });
  const text = await response.text();
  return { status: response.status, text, ms: performance.now() - started };
}

/** The heavy query, as an instant query now (its 1h range covers every line pushed). */
const runHeavy = (target: RunningMeshlog, query = heavyQuery) =>
  get(target, '/loki/api/v1/query', { query, time: String(BigInt(Date.now()) * 1_000_000n) });
/** The heavy query's engine work eight times over: well past 1.5 s on an idle machine too, so the deadline, not the work, ends it. */
const heavierQuery = `sum(count_over_time({service_name="heavy"}${' | regexp "(?P<x>[a-z]+\\\\d)"'.repeat(8)} [1h]))`;

const range = (target: RunningMeshlog, query: string, extra: Record<string, string> = {}, signal?: AbortSignal) =>
  get(target, '/loki/api/v1/query_range', { query, ...Object.fromEntries(new URLSearchParams(window())), ...extra }, signal);

async function metric(target: RunningMeshlog, name: string): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${target.token}` } })).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** /ready latencies, probed every 50 ms until `until` settles. */
async function probeReady(target: RunningMeshlog, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    const ready = await fetch(`${target.url}/ready`);
    await ready.text();
    if (!done) {
      assert.equal(ready.status, 200);
      latencies.push(performance.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return latencies;
}

before(async () => {
  [meshlog, shortTimeout] = await Promise.all([startMeshlog(), startMeshlog({ env: { MESHLOG_QUERY_TIMEOUT: '1500ms' } })]);
  const redos = [...Array.from({ length: 20 }, (_, i) => `level=info msg=${'a'.repeat(30 + i)}`), 'level=info msg=aaab'];
  await push(meshlog, 'redos', redos);
  await push(meshlog, 'heavy', heavy);
  await push(shortTimeout, 'heavy', heavy);
  await Promise.all([
    waitForLines(meshlog, 'redos', redos.length),
    waitForLines(meshlog, 'heavy', heavyLines),
    waitForLines(shortTimeout, 'heavy', heavyLines),
  ]);
});
after(async () => {
  for (const server of [meshlog, shortTimeout]) if (server && server.process.exitCode === null) await server.stop();
});

test('`| logfmt | msg=~"(a+)+b"` and `|~ "(a+)+b"` over lines of 30+ a\'s answer at once with Loki\'s result', async () => {
  for (const query of [
    '{service_name="redos"} | logfmt | msg=~"(a+)+b"',
    '{service_name="redos"} |~ "(a+)+b"',
    // line_format changes the line, so the filter after it runs in the engine, not in ClickHouse.
    '{service_name="redos"} | logfmt | line_format "{{.msg}}" |~ "^(a+)+b$"',
    '{service_name="redos"} | regexp "msg=(?P<m>(a+)+b)"  | m != ""',
    '{service_name="redos"} | logfmt | label_format m=`{{ regexReplaceAll "(a+)+b" .msg "hit" }}` | m="hit"',
  ]) {
    const cpuBefore = cpuMsOf(meshlog.process.pid!);
    const answer = await range(meshlog, query, { limit: '100' });
    const cpuMs = cpuMsOf(meshlog.process.pid!) - cpuBefore;
    assert.equal(answer.status, 200, `${query}: ${answer.text}`);
    // Took 56 s for one line on backtracking RegExp; RE2 is linear. Measured as the server's CPU time,
    // which a loaded machine does not stretch (the wall time is only logged).
    assert.ok(cpuMs < 5000, `${query} took ${cpuMs.toFixed(0)} ms of the server's CPU (${answer.ms.toFixed(0)} ms on the wall clock)`);
    const body = JSON.parse(answer.text) as { data: { result: { values: [string, string][] }[] } };
    const lines = body.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
    assert.equal(lines.length, 1, `${query}: only the aaab line matches (${JSON.stringify(lines.map((line) => line.slice(0, 40)))})`);
    assert.match(lines[0]!, /aaab|^hit$/);
  }
  const count = await get(meshlog, '/loki/api/v1/query', {
    query: 'sum(count_over_time({service_name="redos"} | logfmt | msg=~"(a+)+b" [1h]))',
    time: String(BigInt(Date.now()) * 1_000_000n),
  });
  assert.equal(count.status, 200, count.text);
  assert.equal((JSON.parse(count.text) as { data: { result: { value: [number, string] }[] } }).data.result[0]!.value[1], '1');
});

test('/ready and ingest answer while a heavy query runs (the engine yields to the event loop)', async () => {
  const started = performance.now();
  const query = runHeavy(meshlog);
  const latencies = await probeReady(meshlog, query);
  const answer = await query;
  const queryMs = performance.now() - started;
  assert.equal(answer.status, 200, answer.text);
  assert.equal(
    (JSON.parse(answer.text) as { data: { result: { value: [number, string] }[] } }).data.result[0]!.value[1],
    String(heavyLines),
  );
  assert.ok(latencies.length >= 3, `only ${latencies.length} /ready probes answered during a ${queryMs.toFixed(0)} ms query`);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `heavy query ${queryMs.toFixed(0)} ms; /ready during it: ${latencies.length} probes, median ${sorted[sorted.length >> 1]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
  );

  // An ingest request during a heavy query is accepted too.
  const during = runHeavy(meshlog);
  const pushStarted = performance.now();
  const pushed = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      streams: [{ stream: { service_name: 'during' }, values: [[`${BigInt(Date.now()) * 1_000_000n}`, 'pushed during a heavy query']] }],
    }),
  });
  assert.equal(pushed.status, 204);
  console.log(`push during the heavy query: ${(performance.now() - pushStarted).toFixed(0)} ms`);
  assert.equal((await during).status, 200);
});

test('a query past query.timeout is answered 504 ML_QUERY_TIMEOUT', async () => {
  const answer = await runHeavy(shortTimeout, heavierQuery);
  assert.equal(answer.status, 504, answer.text);
  assert.match(answer.text, /request timed out.*query\.timeout \(1500 ms\)/);
  assert.ok(answer.ms < 5000, `answered after ${answer.ms.toFixed(0)} ms`);
  assert.ok((await metric(shortTimeout, 'meshlog_queries_cancelled_total{reason="timeout"}')) >= 1);
  // The server is fine afterwards: the next query gets a budget of its own. (On a loaded machine even this
  // scan of 12 MB can outlast 1.5 s: then it is its own timeout, answered only once its own 1.5 s ran out.)
  const small = await range(shortTimeout, '{service_name="heavy"} |= "n=7"', { limit: '5' });
  if (small.status === 504) {
    assert.match(small.text, /query\.timeout \(1500 ms\)/);
    assert.ok(small.ms >= 1500, `a later query was cut after ${small.ms.toFixed(0)} ms, before its own 1.5 s`);
  } else {
    assert.equal(small.status, 200, small.text);
    const found = (JSON.parse(small.text) as { data: { result: { values: [string, string][] }[] } }).data.result.flatMap((stream) =>
      stream.values.map(([, line]) => line),
    );
    assert.equal(found.length, 5);
    assert.ok(found.every((line) => line.includes('n=7')));
  }
});

test('a query whose client disconnects is cancelled: the server stops its work', async () => {
  const before = await metric(meshlog, 'meshlog_queries_cancelled_total{reason="client_closed"}');
  const url = new URL(
    `${meshlog.url}/loki/api/v1/query?${new URLSearchParams({ query: heavyQuery, time: String(BigInt(Date.now()) * 1_000_000n) })}`,
  );
  const started = performance.now();
  const client = httpRequest(url, { headers: { authorization: `Bearer ${meshlog.token}` } });
  client.on('error', () => undefined);
  client.end();
  await new Promise((resolve) => setTimeout(resolve, 700));
  client.destroy();
  // Seen by the server within a slice of the engine's work, long before the query could have finished.
  const deadline = Date.now() + 5000;
  while ((await metric(meshlog, 'meshlog_queries_cancelled_total{reason="client_closed"}')) <= before) {
    assert.ok(Date.now() < deadline, 'the server never noticed the client had gone');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.log(`disconnect noticed ${(performance.now() - started - 700).toFixed(0)} ms after the client left`);
  assert.match(meshlog.output(), /"reason":"client_closed".*"msg":"query cancelled"/);
});

test('LogQL with 1,500 nested sum( is refused with 400 naming the nesting limit, not 503', async () => {
  const deep = `${'sum('.repeat(1500)}count_over_time({service_name="redos"}[1m])${')'.repeat(1500)}`;
  const answer = await get(meshlog, '/loki/api/v1/query', { query: deep });
  assert.equal(answer.status, 400, answer.text);
  assert.match(answer.text, /^invalid LogQL: parse error at line 1, col \d+: expected at most 128 levels of nesting/);
  const parens = await range(meshlog, `${'('.repeat(5000)}`);
  assert.equal(parens.status, 400);
  // 100 levels are fine.
  const fine = await get(meshlog, '/loki/api/v1/query', {
    query: `${'sum('.repeat(100)}count_over_time({service_name="redos"}[1h])${')'.repeat(100)}`,
    time: String(BigInt(Date.now()) * 1_000_000n),
  });
  assert.equal(fine.status, 200, fine.text);
});

test('SIGTERM during a long query exits promptly', async () => {
  const query = runHeavy(meshlog).catch((error: Error) => ({ status: 0, text: error.message, ms: 0 }));
  await new Promise((resolve) => setTimeout(resolve, 700));
  const started = performance.now();
  const code = await meshlog.stop();
  const exitMs = performance.now() - started;
  console.log(`exit ${exitMs.toFixed(0)} ms after SIGTERM during a heavy query`);
  assert.equal(
    code,
    0,
    `exit code ${code} (${meshlog.process.signalCode ?? 'no signal'}); the server's last words: ${meshlog.output().slice(-3000)}`,
  );
  assert.ok(exitMs < 10_000, `exit took ${exitMs.toFixed(0)} ms`);
  const answer = await query;
  // The query was stopped: 503 (retry later) or the connection closed with the server.
  assert.notEqual(answer.status, 200, 'the query ran to its end before the server stopped');
  assert.match(meshlog.output(), /"reason":"shutdown".*"msg":"query cancelled"/);
});
