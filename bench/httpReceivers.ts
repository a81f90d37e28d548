/**
 * Ingest throughput of each HTTP receiver: starts the real server and sends
 * RECORDS records per protocol in bodies of BATCH records, CONCURRENCY
 * requests in flight, each acknowledged only once committed. One line per case.
 *
 *   npx tsc -p . && RECORDS=200000 BATCH=1000 CONCURRENCY=8 node dist/bench/httpReceivers.js
 */
import snappy from 'snappy';
import { loadProtos } from '../src/formats/protoRoot.js';
import { startMeshlog } from '../test/support/meshlogProcess.js';

const records = Number(process.env.RECORDS ?? 200_000);
const batch = Number(process.env.BATCH ?? 1000);
const concurrency = Number(process.env.CONCURRENCY ?? 8);
const nowNs = BigInt(Date.now()) * 1_000_000n;
const line = (i: number) =>
  `[2026-01-01T00:00:00.000Z] "GET /api/v1/items/${i % 1000} HTTP/1.1" 200 - 0 ${(i * 31) % 9000} ${i % 900} 3 "-" "envoy" "req-${i}" "svc" "10.0.0.7:8080"`;
const indexes = Array.from({ length: batch }, (_, i) => i);
const PushRequest = loadProtos(['logproto/push.proto']).lookupType('logproto.PushRequest');

interface Case {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: () => Uint8Array | string;
  expect: number;
}

const cases: Case[] = [
  {
    name: 'loki_json',
    path: '/loki/api/v1/push',
    headers: { 'Content-Type': 'application/json' },
    body: () =>
      JSON.stringify({
        streams: [{ stream: { service_name: 'bench', level: 'info' }, values: indexes.map((i) => [String(nowNs + BigInt(i)), line(i)]) }],
      }),
    expect: 204,
  },
  {
    name: 'loki_protobuf',
    path: '/loki/api/v1/push',
    headers: { 'Content-Type': 'application/x-protobuf' },
    body: () =>
      snappy.compressSync(
        PushRequest.encode(
          PushRequest.fromObject({
            streams: [
              {
                labels: '{service_name="bench", level="info"}',
                entries: indexes.map((i) => ({ timestamp: { seconds: Math.floor(Date.now() / 1000), nanos: i }, line: line(i) })),
              },
            ],
          }),
        ).finish(),
      ),
    expect: 204,
  },
  {
    name: 'elasticsearch_bulk',
    path: '/_bulk',
    headers: { 'Content-Type': 'application/x-ndjson' },
    body: () =>
      indexes
        .map(
          (i) =>
            `{"create":{"_index":"bench"}}\n${JSON.stringify({ '@timestamp': new Date().toISOString(), message: line(i), 'log.level': 'info', 'service.name': 'bench' })}\n`,
        )
        .join(''),
    expect: 200,
  },
  {
    name: 'splunk_hec',
    path: '/services/collector/event',
    headers: {},
    body: () => indexes.map((i) => JSON.stringify({ time: Date.now() / 1000, host: 'node-1', source: 'bench', event: line(i) })).join(''),
    expect: 200,
  },
  {
    name: 'datadog',
    path: '/api/v2/logs',
    headers: { 'Content-Type': 'application/json' },
    body: () =>
      JSON.stringify(indexes.map((i) => ({ message: line(i), service: 'bench', hostname: 'node-1', status: 'info', ddtags: 'env:bench' }))),
    expect: 202,
  },
];

const meshlog = await startMeshlog();
try {
  for (const benchCase of cases) {
    const body = benchCase.body();
    const requests = Math.ceil(records / batch);
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) {
          next++;
          const response = await fetch(`${meshlog.url}${benchCase.path}`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${meshlog.token}`, ...benchCase.headers },
            body: typeof body === 'string' ? body : Uint8Array.from(body),
          });
          await response.arrayBuffer();
          if (response.status !== benchCase.expect) throw new Error(`${benchCase.name}: HTTP ${response.status}`);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const sent = requests * batch;
    console.log(
      `receiver=${benchCase.name} records=${sent} batch=${batch} concurrency=${concurrency} seconds=${seconds.toFixed(2)} records_per_s=${Math.round(sent / seconds)}`,
    );
  }
} finally {
  await meshlog.stop();
}
