/**
 * Ingest throughput of the TCP receivers: starts the real server and sends
 * RECORDS records per protocol over CONCURRENCY connections, in chunks of
 * BATCH records. Forward and OTLP/gRPC wait for each chunk's ack/answer (sent
 * after commit); syslog has no ack, so it is timed until the server's
 * committed counter reaches the total. One line per case.
 *
 *   npx tsc -p . && RECORDS=200000 BATCH=1000 CONCURRENCY=8 node dist/bench/tcpReceivers.js
 */
import { connect, type Socket } from 'node:net';
import grpc from '@grpc/grpc-js';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import { loadProtos } from '../src/formats/protoRoot.js';
import { committedCount } from '../test/support/committedCount.js';
import { startMeshlog, type RunningMeshlog } from '../test/support/meshlogProcess.js';

const records = Number(process.env.RECORDS ?? 200_000);
const batch = Number(process.env.BATCH ?? 1000);
const concurrency = Number(process.env.CONCURRENCY ?? 8);
const chunks = Math.ceil(records / batch);
const total = chunks * batch;
const line = (i: number) =>
  `[2026-01-01T00:00:00.000Z] "GET /api/v1/items/${i % 1000} HTTP/1.1" 200 - 0 ${(i * 31) % 9000} ${i % 900} 3 "-" "envoy" "req-${i}" "svc" "10.0.0.7:8080"`;
const indexes = Array.from({ length: batch }, (_, i) => i);
const address = (meshlog: RunningMeshlog, name: string) => {
  const text = meshlog.listeners[name];
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
};
const open = (host: string, port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(port, host, () => resolve(socket));
    socket.once('error', reject);
  });

/** Runs `send(chunkIndex)` for every chunk with `concurrency` workers. */
async function workers(send: (worker: number, chunk: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < chunks) await send(worker, next++);
    }),
  );
}

async function forward(meshlog: RunningMeshlog): Promise<void> {
  const { host, port } = address(meshlog, 'forward');
  const now = Math.floor(Date.now() / 1000);
  const entries = Buffer.concat(indexes.map((i) => encode([now, { log: line(i), level: 'info' }])));
  const sockets = await Promise.all(Array.from({ length: concurrency }, () => open(host, port)));
  const acks = sockets.map((socket) => decodeMultiStream(socket)[Symbol.asyncIterator]());
  await workers(async (worker, chunk) => {
    // PackedForward, as Fluent Bit sends it, with a chunk id to be acked.
    sockets[worker].write(encode(['bench.forward', entries, { size: batch, chunk: `c${chunk}` }]));
    const ack = (await acks[worker].next()).value as { ack?: string };
    if (ack?.ack !== `c${chunk}`) throw new Error(`forward: unexpected ack ${JSON.stringify(ack)}`);
  });
  for (const socket of sockets) socket.destroy();
}

async function syslogTcp(meshlog: RunningMeshlog): Promise<void> {
  const { host, port } = address(meshlog, 'syslog_tcp');
  const stamp = new Date().toISOString();
  const frames = Buffer.concat(
    indexes.map((i) => {
      const message = `<134>1 ${stamp} node-1 envoy 42 - [meta seq="${i}"] ${line(i)}`;
      return Buffer.from(`${Buffer.byteLength(message)} ${message}`);
    }),
  );
  const sockets = await Promise.all(Array.from({ length: concurrency }, () => open(host, port)));
  await workers(async (worker) => {
    if (!sockets[worker].write(frames)) await new Promise((resolve) => sockets[worker].once('drain', resolve));
  });
  while ((await committedCount(meshlog, 'syslog_tcp')) < total) await new Promise((resolve) => setTimeout(resolve, 20));
  for (const socket of sockets) socket.end();
}

async function otlpGrpc(meshlog: RunningMeshlog): Promise<void> {
  const Request = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']).lookupType(
    'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  );
  const timeUnixNano = String(BigInt(Date.now()) * 1_000_000n);
  const body = Buffer.from(
    Request.encode(
      Request.fromObject({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] },
            scopeLogs: [{ logRecords: indexes.map((i) => ({ timeUnixNano, severityNumber: 9, body: { stringValue: line(i) } })) }],
          },
        ],
      }),
    ).finish(),
  );
  const client = new grpc.Client(meshlog.listeners.otlp_grpc, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${meshlog.token}`);
  await workers(
    () =>
      new Promise<void>((resolve, reject) =>
        client.makeUnaryRequest(
          '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
          (b: Buffer) => b,
          (b: Buffer) => b,
          body,
          metadata,
          (error) => (error ? reject(error) : resolve()),
        ),
      ),
  );
  client.close();
}

const cases: [string, (meshlog: RunningMeshlog) => Promise<void>][] = [
  ['forward', forward],
  ['syslog_tcp', syslogTcp],
  ['otlp_grpc', otlpGrpc],
];

const meshlog = await startMeshlog();
try {
  for (const [name, run] of cases) {
    const started = process.hrtime.bigint();
    await run(meshlog);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
      `receiver=${name} records=${total} batch=${batch} concurrency=${concurrency} seconds=${seconds.toFixed(2)} records_per_s=${Math.round(total / seconds)}`,
    );
  }
} finally {
  await meshlog.stop();
}
