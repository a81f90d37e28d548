import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';

/**
 * Peak resident memory of the server process (VmHWM: the kernel's high-water
 * mark, chDB's memory included), in MiB. Each case runs in a fresh server, so
 * the figure is that case's peak. The bounds asserted are generous: only a
 * leak or an unbounded buffer breaks them; the measured figures are in
 * docs/operations/limits-and-resilience.md.
 */
function peakRssMiB(server: RunningMeshlog): number {
  const status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

async function push(server: RunningMeshlog, streams: { stream: Record<string, string>; values: [string, string][] }[]): Promise<number> {
  const response = await fetch(`${server.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Runs `total` jobs, `concurrency` at a time; returns the statuses. */
async function inParallel(total: number, concurrency: number, job: (index: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) statuses.push(await job(next++));
    }),
  );
  return statuses;
}

async function storedCount(server: RunningMeshlog, selector: string): Promise<number> {
  const response = await fetch(`${server.url}/loki/api/v1/query?query=${encodeURIComponent(`sum(count_over_time(${selector}[1h]))`)}`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200);
  const result = ((await response.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
  return Number(result[0]?.value[1] ?? 0);
}

async function measure(t: TestContext, name: string, boundMiB: number, work: (server: RunningMeshlog) => Promise<void>): Promise<void> {
  const server = await startMeshlog();
  try {
    const idle = peakRssMiB(server);
    await work(server);
    const peak = peakRssMiB(server);
    t.diagnostic(`${name}: peak RSS ${peak.toFixed(0)} MiB (idle server ${idle.toFixed(0)} MiB)`);
    assert.ok(peak < boundMiB, `${name}: peak RSS ${peak.toFixed(0)} MiB, bound ${boundMiB} MiB`);
  } finally {
    assert.equal(await server.stop(), 0, server.output());
  }
}

test('huge label sets (500 labels of 1 KiB per stream) keep RSS bounded', async (t) => {
  await measure(t, 'huge label sets: 200 requests x 4 streams x 500 labels of 1 KiB, 8 concurrent', 1536, async (server) => {
    const value = 'v'.repeat(1024);
    const statuses = await inParallel(200, 8, (request) =>
      push(
        server,
        Array.from({ length: 4 }, (_, s) => ({
          stream: {
            service_name: 'labels',
            ...Object.fromEntries(Array.from({ length: 500 }, (_, l) => [`label_${l}`, `${request}-${s}-${value}`])),
          },
          values: [[String(nowNs()), `huge label set request=${request} stream=${s}`]],
        })),
      ),
    );
    assert.deepEqual([...new Set(statuses)], [204]);
    assert.equal(await storedCount(server, '{service_name="labels"}'), 800);
  });
});

test('many distinct streams (100,000) keep RSS bounded', async (t) => {
  await measure(t, 'many streams: 50 requests x 2,000 distinct streams, 4 concurrent', 1536, async (server) => {
    const statuses = await inParallel(50, 4, (request) =>
      push(
        server,
        Array.from({ length: 2000 }, (_, s) => ({
          stream: { service_name: 'streams', pod: `pod-${request}-${s}`, container: `c-${s % 7}` },
          values: [[String(nowNs()), `stream ${request}-${s}`]],
        })),
      ),
    );
    assert.deepEqual([...new Set(statuses)], [204]);
    assert.equal(await storedCount(server, '{service_name="streams"}'), 100_000);
  });
});

test('long lines (1 MiB each, 14 per 16 MiB request) keep RSS bounded', async (t) => {
  await measure(t, 'long lines: 40 requests x 14 lines of 1 MiB, 4 concurrent', 2560, async (server) => {
    const line = 'x'.repeat(1024 * 1024 - 64);
    const statuses = await inParallel(40, 4, (request) =>
      push(server, [
        {
          stream: { service_name: 'long' },
          values: Array.from({ length: 14 }, (_, i) => [String(nowNs() + BigInt(i)), `${request}-${i} ${line}`]),
        },
      ]),
    );
    // 429 (queue full, retry) is a correct answer under this load; nothing else is.
    assert.deepEqual(
      [...new Set(statuses)].filter((status) => status !== 204 && status !== 429),
      [],
    );
    assert.ok(statuses.filter((status) => status === 204).length > 0);
  });
});

test('many small requests in flight (250 at once) keep RSS bounded', async (t) => {
  await measure(t, 'many small requests: 5,000 requests of 10 lines, 250 in flight', 1536, async (server) => {
    const statuses = await inParallel(5000, 250, (request) =>
      push(server, [
        {
          stream: { service_name: 'small', sender: String(request % 250) },
          values: Array.from({ length: 10 }, (_, i) => [String(nowNs() + BigInt(i)), `small request=${request} line=${i}`]),
        },
      ]),
    );
    assert.deepEqual([...new Set(statuses)], [204]);
    assert.equal(await storedCount(server, '{service_name="small"}'), 50_000);
  });
});

test('long lines past ingest.max_queued_bytes are refused with 429 + Retry-After instead of queued without bound', async () => {
  // A long linger holds the first request in the queue; 4 MiB of queue holds it (3 MiB) but not a second like it.
  const server = await startMeshlog({ env: { MESHLOG_INGEST_MAX_QUEUED_BYTES: '4MiB', MESHLOG_INGEST_BATCH_LINGER_MS: '3000' } });
  try {
    const metricsText = async () => (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
    await metricsText(); // the login's audit record commits on its own, not beside the queued request
    const line = 'y'.repeat(1024 * 1024);
    const request = (tag: string) =>
      push(server, [
        {
          stream: { service_name: 'queue-bytes' },
          values: Array.from({ length: 3 }, (_, i) => [String(nowNs() + BigInt(i)), `${tag} ${i} ${line}`]),
        },
      ]);
    const first = request('first');
    while (!/^meshlog_queue_records 3$/m.test(await metricsText())) await new Promise((resolve) => setTimeout(resolve, 20));
    const response = await fetch(`${server.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { service_name: 'queue-bytes' }, values: [[String(nowNs()), `second ${line}`]] }] }),
    });
    assert.equal(response.status, 429);
    assert.equal(response.headers.get('retry-after'), '1');
    assert.match(await response.text(), /MiB of records waiting for commit/);
    assert.equal(await first, 204, 'the queued request is committed and acknowledged');
    assert.equal(await storedCount(server, '{service_name="queue-bytes"}'), 3);
  } finally {
    assert.equal(await server.stop(), 0, server.output());
  }
});
