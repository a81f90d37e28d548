import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import snappy from 'snappy';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

/** Ships `entries` through winston-loki (the transport's own batching, JSON or snappy protobuf); resolves with the push errors. */
async function shipWithWinstonLoki(
  options: { json: boolean; labels: Record<string, string>; headers?: Record<string, string>; basicAuth?: string },
  entries: { level: string; message: string; timestamp: string; [meta: string]: string }[],
): Promise<{ statusCode?: number; responseBody?: string }[]> {
  const errors: { statusCode?: number; responseBody?: string }[] = [];
  const transport = new LokiTransport({
    host: meshlog.url,
    json: options.json,
    labels: options.labels,
    headers: options.headers ?? { Authorization: `Bearer ${meshlog.token}` },
    basicAuth: options.basicAuth,
    interval: 3600,
    replaceTimestamp: false,
    gracefulShutdown: false,
    format: winston.format.printf((info) => String(info.message)),
    onConnectionError: (error) => errors.push(error as { statusCode?: number }),
  });
  const logged = new Promise<void>((resolve) => {
    let count = 0;
    transport.on('logged', () => ++count === entries.length && resolve());
  });
  const logger = winston.createLogger({ level: 'debug', transports: [transport] });
  for (const { level, message, ...meta } of entries) logger.log(level, message, meta);
  await logged;
  await transport.close();
  return errors;
}

async function push(body: Buffer | string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, ...headers },
    body: typeof body === 'string' ? body : Uint8Array.from(body),
  });
  return { status: response.status, text: await response.text() };
}

test('Loki push from winston-loki (JSON and snappy protobuf), curl-style gzip JSON, and bad input', async () => {
  const jsonErrors = await shipWithWinstonLoki(
    {
      json: true,
      labels: { job: 'cart', service_name: 'cart' },
      headers: { Authorization: `Bearer ${meshlog.token}`, 'X-Scope-OrgID': 'acme' },
    },
    [
      {
        level: 'warn',
        message: 'cart is slow',
        timestamp: '2026-01-02T03:04:05.678Z',
        trace_id: '5B8EFFF798038103D269B633813FC60C',
        span_id: 'eee19b7ec3c1b174',
        user: 'u-17',
      },
      { level: 'info', message: 'cart ok', timestamp: '2026-01-02T03:04:06.000Z' },
    ],
  );
  assert.deepEqual(jsonErrors, []);

  // Basic auth with the token as password, as Promtail's basic_auth sends it.
  const protobufErrors = await shipWithWinstonLoki(
    { json: false, labels: { service_name: 'billing', env: 'prod' }, headers: {}, basicAuth: `promtail:${meshlog.token}` },
    [
      { level: 'error', message: 'invoice "7" failed', timestamp: '2026-01-02T03:04:07.250Z' },
      { level: 'debug', message: 'retrying', timestamp: '2026-01-02T03:04:08.000Z' },
    ],
  );
  assert.deepEqual(protobufErrors, []);

  const wrongToken = await shipWithWinstonLoki(
    { json: false, labels: { service_name: 'intruder' }, headers: { Authorization: 'Bearer not-the-token' } },
    [{ level: 'info', message: 'must not be stored', timestamp: '2026-01-02T03:04:09.000Z' }],
  );
  assert.equal(wrongToken[0]?.statusCode, 401);

  const gzipped = gzipSync(
    JSON.stringify({
      streams: [
        {
          stream: { service_name: 'gateway', detected_level: 'warn', namespace: 'edge' },
          values: [
            ['1767323049000000001', 'upstream reset', { pod: 'gw-1', trace_id: '0af7651916cd43dd8448eb211c80319c' }],
            ['not-a-time', 'refused entry'],
            ['1767323049000000002', 'second good line'],
          ],
        },
        { stream: 'not an object', values: [] },
      ],
    }),
  );
  const partial = await push(gzipped, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
  assert.equal(partial.status, 400);
  assert.match(partial.text, /2 entries or streams refused, 2 accepted/);
  assert.match(partial.text, /stream 0 entry 1: timestamp "not-a-time" is not a string of nanoseconds/);

  const notSnappy = await push('this is not snappy', { 'Content-Type': 'application/x-protobuf' });
  assert.equal(notSnappy.status, 400);
  assert.match(notSnappy.text, /snappy/);
  const notProtobuf = await push(snappy.compressSync(Buffer.from([0xff, 0xff, 0xff])), { 'Content-Type': 'application/x-protobuf' });
  assert.equal(notProtobuf.status, 400);
  assert.match(notProtobuf.text, /invalid logproto.PushRequest/);
  const badJson = await push('{"streams":[', { 'Content-Type': 'application/json' });
  assert.equal(badJson.status, 400);
  assert.match(badJson.text, /invalid JSON/);
  const badLabels = await push(snappy.compressSync(Buffer.from('0a090a077b6a6f623d2278', 'hex')), {
    'Content-Type': 'application/x-protobuf',
  });
  assert.equal(badLabels.status, 400);
  assert.match(badLabels.text, /Error parsing labels '\{job="x' with error: labels must be written/);

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs ORDER BY timestamp`,
  );
  assert.deepEqual(
    rows.map((row) => row.body),
    ['cart is slow', 'cart ok', 'invoice "7" failed', 'retrying', 'upstream reset', 'second good line'],
  );
  assert.ok(rows.every((row) => row.receiver === 'loki'));

  const [slow, ok, invoice, retrying, reset] = rows;
  assert.equal(slow.tenant, 'acme');
  assert.equal(slow.timestamp, '1767323045678000000');
  assert.equal(slow.service_name, 'cart');
  assert.equal(slow.severity_text, 'warn');
  assert.equal(slow.severity_number, 13);
  assert.deepEqual(slow.resource_attributes, { job: 'cart', service_name: 'cart', level: 'warn' });
  // winston-loki sends the rest of winston's info, level included, as structured metadata.
  assert.deepEqual(slow.log_attributes, {
    trace_id: '5B8EFFF798038103D269B633813FC60C',
    span_id: 'eee19b7ec3c1b174',
    user: 'u-17',
    level: 'warn',
    'meshlog.parse_status': 'no_format',
  });
  assert.equal(slow.trace_id, '5b8efff798038103d269b633813fc60c');
  assert.equal(slow.span_id, 'eee19b7ec3c1b174');
  assert.equal(ok.severity_number, 9);

  assert.equal(invoice.tenant, 'default');
  assert.equal(invoice.timestamp, '1767323047250000000');
  assert.equal(invoice.service_name, 'billing');
  assert.equal(invoice.severity_number, 17);
  assert.deepEqual(invoice.resource_attributes, { level: 'error', service_name: 'billing', env: 'prod' });
  assert.equal(retrying.severity_number, 5);

  assert.equal(reset.timestamp, '1767323049000000001');
  assert.equal(reset.service_name, 'gateway');
  assert.equal(reset.severity_number, 13);
  assert.equal(reset.resource_attributes.namespace, 'edge');
  assert.deepEqual(reset.log_attributes, {
    pod: 'gw-1',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    'meshlog.parse_status': 'no_format',
  });
  assert.equal(reset.trace_id, '0af7651916cd43dd8448eb211c80319c');
});
