import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

/**
 * Issue 17, end to end against a running server: mixed requests (valid,
 * malformed, extreme times, deep nesting, any unicode) to every HTTP
 * receiver never get a 5xx (no storage outage is declared here), valid
 * neighbour requests from another tenant all succeed meanwhile, and /ready
 * keeps answering fast. Bounded: a few dozen runs.
 */

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog({ env: { MESHLOG_INGEST_BATCH_LINGER_MS: '20' } });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

const endpoints: { path: string; contentType: string }[] = [
  { path: '/v1/logs', contentType: 'application/json' },
  { path: '/v1/logs', contentType: 'application/x-protobuf' },
  { path: '/v1/traces', contentType: 'application/json' },
  { path: '/loki/api/v1/push', contentType: 'application/json' },
  { path: '/loki/api/v1/push', contentType: 'application/x-protobuf' },
  { path: '/_bulk', contentType: 'application/x-ndjson' },
  { path: '/services/collector/event', contentType: 'application/json' },
  { path: '/api/v2/logs', contentType: 'application/json' },
  { path: '/api/v2/spans', contentType: 'application/json' },
];

const time = fc.oneof(
  fc.constantFrom('-5', '-62135596800000000000', '18446744073709551615', '0', '1e308', '-1e308'),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
const deep = fc.integer({ min: 50, max: 20_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
const text = fc.string({ unit: 'binary', maxLength: 60 }).map((value) => JSON.stringify(value));
/** A body for an endpoint: arbitrary bytes, or that protocol's shape with extreme values in it. */
const body = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
  fc
    .tuple(time, fc.oneof(deep, text))
    .map(([at, value]) =>
      Buffer.from(
        [
          `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"${at}","body":{"stringValue":${value.length < 100 ? value : '"x"'}}},{"body":{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}}]}]}]}`,
          `{"streams":[{"stream":{"job":"fuzz"},"values":[["${at.replace('-', '')}","line",${value.startsWith('{') ? value : '{}'}]]}]}`,
          `{"index":{"_index":"f"}}\n{"@timestamp":${/^-?\d+$/.test(at) && at.length < 16 ? at : JSON.stringify(at)},"message":${value}}\n`,
          `{"time":${at},"event":${value}}`,
          `[{"timestamp":${at},"message":${value},"x":${value}}]`,
        ].join(''),
      ),
    ),
  fc.tuple(time, fc.oneof(deep, text)).map(([at, value]) => Buffer.from(`[{"timestamp":${at},"message":${value}}]`)),
);

test('mixed bad and extreme requests to every receiver get no 5xx, valid neighbours of another tenant succeed, /ready stays fast', async () => {
  let neighbours = 0;
  let slowestReadyMs = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...endpoints), body, async (endpoint, payload) => {
      const attack = fetch(`${meshlog.url}${endpoint.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'fuzz', 'content-type': endpoint.contentType },
        body: payload,
      });
      const neighbour = fetch(`${meshlog.url}/v1/logs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'neighbour', 'content-type': 'application/json' },
        body: otlpJsonRequest('neighbour', [`neighbour ${neighbours++}`]),
      });
      const readyStarted = Date.now();
      const ready = fetch(`${meshlog.url}/ready`).then(
        (response) => ((slowestReadyMs = Math.max(slowestReadyMs, Date.now() - readyStarted)), response),
      );
      const [attacked, neighboured, readied] = await Promise.all([attack, neighbour, ready]);
      const answer = await attacked.text();
      assert.ok(attacked.status < 500, `${endpoint.path} ${endpoint.contentType} answered ${attacked.status}: ${answer.slice(0, 300)}`);
      assert.equal(neighboured.status, 200, await neighboured.text());
      assert.equal(readied.status, 200);
    }),
    { numRuns: 40 },
  );
  assert.ok(slowestReadyMs < 1000, `/ready took ${slowestReadyMs} ms at worst`);

  await meshlog.stop();
  const stored = await readCommitted<{ n: string }>(
    meshlog.dataDir,
    `SELECT toString(count()) AS n FROM meshlog.logs WHERE tenant = 'neighbour'`,
  );
  assert.equal(Number(stored[0].n), neighbours, 'every acknowledged neighbour record is stored');
});

test('syslog and forward records stamped year 1 or far ahead are stored at their receipt time, the claimed time kept, and counted received with their bytes', async () => {
  const server = await startMeshlog();
  try {
    const send = (address: string, bytes: Buffer | string) =>
      new Promise<void>((resolve, reject) => {
        const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
        const socket = connect({ host, port }, () => socket.end(bytes));
        socket.on('error', reject);
        socket.on('close', () => resolve());
        socket.resume();
      });
    const syslogLine = '<34>1 0001-01-01T00:00:00Z host app 1 ID47 - syslog year one\n';
    await send(server.listeners.syslog_tcp, syslogLine);
    // Forward: an EventTime 2^40 seconds ahead (year ~36812), acknowledged once committed.
    const forwardMessage = Buffer.from(encode(['fuzz.tag', [[2 ** 40, { message: 'forward far future' }]]]));
    await send(server.listeners.forward, forwardMessage);
    const deadline = Date.now() + 20_000;
    const restamped = (metrics: string, receiver: string) =>
      metrics
        .split('\n')
        .some(
          (line) =>
            line.startsWith('meshlog_records_rejected_total') &&
            line.includes(`receiver="${receiver}"`) &&
            line.includes('reason="timestamp_restamped"'),
        );
    const counted = (metrics: string, name: string, receiver: string) =>
      metrics
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) && line.includes(`receiver="${receiver}"`))
        .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)))[0];
    let metrics: string;
    for (;;) {
      metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
      // Bytes are counted once the connection has ended.
      const bytesCounted =
        counted(metrics, 'meshlog_bytes_received_total', 'syslog_tcp') && counted(metrics, 'meshlog_bytes_received_total', 'forward');
      if (restamped(metrics, 'syslog_tcp') && restamped(metrics, 'forward') && bytesCounted) break;
      assert.ok(
        Date.now() < deadline,
        `both restamped within 20 s:\n${metrics
          .split('\n')
          .filter((line) => line.includes('rejected'))
          .join('\n')}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(counted(metrics, 'meshlog_records_received_total', 'syslog_tcp'), 1);
    assert.equal(counted(metrics, 'meshlog_records_received_total', 'forward'), 1);
    assert.equal(counted(metrics, 'meshlog_bytes_received_total', 'syslog_tcp'), Buffer.byteLength(syslogLine));
    assert.equal(counted(metrics, 'meshlog_bytes_received_total', 'forward'), forwardMessage.length);
    assert.equal(await server.stop(), 0);
    const rows = await readCommitted<{ body: string; claimed: string; time: string }>(
      server.dataDir,
      `SELECT body, log_attributes['meshlog.refused_timestamp'] AS claimed, toString(toUnixTimestamp64Nano(timestamp)) AS time FROM meshlog.logs WHERE body LIKE '%year one%' OR body LIKE '%far future%'`,
    );
    assert.equal(rows.length, 2, JSON.stringify(rows));
    const startedNs = BigInt(Date.now() - 120_000) * 1_000_000n;
    for (const row of rows) {
      assert.ok(BigInt(row.time) > startedNs, `stored at receipt time: ${JSON.stringify(row)}`);
      assert.notEqual(row.claimed, '', 'the claimed time is kept');
    }
    assert.ok(
      rows.some((row) => row.body === 'syslog year one' && row.claimed === '0001-01-01T00:00:00Z'),
      JSON.stringify(rows),
    );
  } finally {
    if (server.process.exitCode === null) await server.kill();
  }
});
