import assert from 'node:assert/strict';
import type { RunningMeshlog } from './meshlogProcess.js';

/**
 * A fixed minute of logs for the LogQL and Loki API conformance tests: five
 * streams (JSON, logfmt with structured metadata, access lines with an ANSI
 * coloured one, packed promtail lines) pushed through the Loki push API.
 * Every line has an id; tests name the lines they expect by id.
 */
export const T0s = 1_767_199_980;
export const T0 = BigInt(T0s) * 1_000_000_000n;
export const at = (second: number) => (T0 + BigInt(second) * 1_000_000_000n).toString();
export const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

export interface Line {
  id: string;
  second: number;
  line: string;
  metadata?: Record<string, string>;
}

export const web = { service_name: 'web', env: 'prod', cluster: 'eu' };
export const apiProd = { service_name: 'api', env: 'prod', cluster: 'us' };
export const apiDev = { service_name: 'api', env: 'dev', cluster: 'us' };
export const proxy = { service_name: 'proxy', env: 'prod', cluster: 'eu' };
export const worker = { service_name: 'worker', env: 'staging' };

const json = (value: object) => JSON.stringify(value);
export const streams: { labels: Record<string, string>; lines: Line[] }[] = [
  {
    labels: web,
    lines: [
      {
        id: 'w1',
        second: 1,
        line: json({ method: 'GET', path: '/', status: 200, latency: '12ms', size: '1.5KB', user: { id: 'alice', tier: 'gold' } }),
      },
      {
        id: 'w2',
        second: 5,
        line: json({ method: 'POST', path: '/login', status: 401, latency: '250ms', size: '512B', user: { id: 'bob', tier: 'free' } }),
        metadata: { trace_id: traceId },
      },
      {
        id: 'w3',
        second: 10,
        line: json({ method: 'GET', path: '/cart', status: 200, latency: '1.2s', size: '20KB', user: { id: 'alice', tier: 'gold' } }),
      },
      {
        id: 'w4',
        second: 15,
        line: json({
          method: 'DELETE',
          path: '/cart/7',
          status: 500,
          latency: '3s',
          size: '0B',
          user: { id: 'carol', tier: 'free' },
          error: 'db timeout',
        }),
      },
      {
        id: 'w5',
        second: 20,
        line: json({
          method: 'GET',
          path: '/search?q=shoes',
          status: 404,
          latency: '45ms',
          size: '2KB',
          user: { id: 'bob', tier: 'free' },
          tags: ['x', 'y'],
        }),
      },
      {
        id: 'w6',
        second: 25,
        line: json({
          method: 'PUT',
          path: '/profile',
          status: 204,
          latency: '80ms',
          size: '100B',
          user: { id: 'dave', tier: 'silver' },
          env: 'canary',
        }),
      },
    ],
  },
  {
    labels: apiProd,
    lines: [
      {
        id: 'a1',
        second: 2,
        line: 'level=info msg="request served" route=/v1/items duration=35ms bytes=1200 user=alice',
        metadata: { detected_level: 'info' },
      },
      {
        id: 'a2',
        second: 7,
        line: 'level=warn msg="slow upstream" route=/v1/items duration=850ms bytes=300 user=bob',
        metadata: { detected_level: 'warn' },
      },
      {
        id: 'a3',
        second: 12,
        line: 'level=error msg="upstream timeout" route=/v1/pay duration=5s bytes=0 user=carol',
        metadata: { detected_level: 'error' },
      },
      {
        id: 'a4',
        second: 17,
        line: 'level=info msg="request served" route=/v1/pay duration=120ms bytes=4096 user=alice',
        metadata: { detected_level: 'info' },
      },
      { id: 'a5', second: 22, line: 'level=debug msg="cache refreshed" entries=42 duration=3ms', metadata: { detected_level: 'debug' } },
    ],
  },
  {
    labels: apiDev,
    lines: [
      { id: 'd1', second: 3, line: 'level=info msg="request served" route=/v1/items duration=20ms bytes=800 user=erin' },
      { id: 'd2', second: 8, line: 'level=error msg="panic recovered" route=/v1/admin duration=2ms bytes=0 user=root trace=abc123' },
    ],
  },
  {
    labels: proxy,
    lines: [
      { id: 'p1', second: 4, line: '10.0.0.1 - - "GET /index.html HTTP/1.1" 200 5120 0.012' },
      { id: 'p2', second: 9, line: '10.0.0.2 - - "POST /api/login HTTP/1.1" 401 128 0.250', metadata: { trace_id: traceId } },
      { id: 'p3', second: 14, line: '10.0.0.1 - - "GET /images/logo.png HTTP/2.0" 304 0 0.003' },
      { id: 'p4', second: 19, line: '\u001b[31m10.0.0.3 - - "GET /admin HTTP/1.1" 403 64 0.001\u001b[0m' },
      { id: 'p5', second: 24, line: '192.168.1.9 - - "PUT /api/items/7 HTTP/1.1" 500 2048 1.500' },
    ],
  },
  {
    labels: worker,
    lines: [
      { id: 'k1', second: 6, line: json({ _entry: 'job started id=17', queue: 'emails', attempt: '1' }) },
      { id: 'k2', second: 11, line: json({ _entry: 'job failed id=17 error=smtp', queue: 'emails', attempt: '2' }) },
      { id: 'k3', second: 16, line: json({ _entry: 'job done id=18', queue: 'reports', attempt: '1' }) },
      { id: 'k4', second: 21, line: 'Worker heartbeat OK' },
    ],
  },
];

export const byId = new Map(streams.flatMap((stream) => stream.lines.map((line) => [line.id, line] as const)));
export const all = [...byId.keys()];

/** Pushes the data set as one Loki push request (JSON, structured metadata as the third value); resolves once committed. */
export async function pushConformanceLogs(meshlog: RunningMeshlog, tenant: string): Promise<void> {
  const push = {
    streams: streams.map((stream) => ({
      stream: stream.labels,
      values: stream.lines.map((line) => (line.metadata ? [at(line.second), line.line, line.metadata] : [at(line.second), line.line])),
    })),
  };
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
    body: JSON.stringify(push),
  });
  assert.equal(response.status, 204, await response.text());
}

/** Ingest-time parsing off: a line's labels are exactly its stream labels and structured metadata, as in Loki. */
export const lokiLikeIngest = { MESHLOG_PIPELINE_PARSE: 'false', MESHLOG_PIPELINE_MULTILINE: 'false' };
