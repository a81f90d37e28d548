import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { decodeMulti, encode } from '@msgpack/msgpack';
import { EventTime, FluentClient, type EventModes } from '@fluent-org/logger';
import { committedCount, waitForCommitted } from '../../support/committedCount.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

let meshlog: RunningMeshlog;
let host: string;
let port: number;
before(async () => {
  meshlog = await startMeshlog();
  const [address, portText] = meshlog.listeners.forward.split(/:(?=\d+$)/);
  host = address;
  port = Number(portText);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

const modes: EventModes[] = ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'];

const kubernetes = {
  pod_name: 'checkout-7d9f-abcde',
  namespace_name: 'shop',
  pod_id: '3f1c0a9e-1111-2222-3333-444455556666',
  container_name: 'checkout',
  host: 'node-1',
  labels: { 'app.kubernetes.io/name': 'checkout', 'pod-template-hash': '7d9f' },
};

/** A raw connection for what no real client sends: garbage, truncated frames, wrong types. */
function rawConnection(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the server closes the connection. */
const closedByServer = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

test('@fluent-org/logger delivers through every event mode and is acknowledged only after commit', async () => {
  for (const eventMode of modes) {
    const client = new FluentClient('shop', { eventMode, socket: { host, port }, ack: { ackTimeout: 20_000 } });
    // With ack, emit() resolves only when meshlog answered {"ack": chunk}.
    await client.emit(
      eventMode,
      { log: `payment retry via ${eventMode}\n`, level: 'warn', stream: 'stderr', attempt: 3, kubernetes },
      new EventTime(1_700_000_000, 123_456_789),
    );
    await client.emit(
      eventMode,
      { message: `second via ${eventMode}`, severity: 'ERROR', nested: { a: [1, 2] } },
      new Date(1_700_000_001_000),
    );
    await client.disconnect();
  }
});

test('garbage, truncated frames, wrong types and resets close only their own connection', async () => {
  const good = new FluentClient('shop', { eventMode: 'Forward', socket: { host, port }, ack: { ackTimeout: 20_000 } });
  await good.emit('before', { log: 'good before the bad ones' });

  const garbage = await rawConnection();
  const garbageClosed = closedByServer(garbage);
  garbage.write(Buffer.from([0xc1, 0xc1, 0xc1])); // 0xc1 is never used in msgpack
  await garbageClosed;

  const wrongType = await rawConnection();
  const wrongTypeClosed = closedByServer(wrongType);
  wrongType.write(encode([42, 1_700_000_000, { log: 'the tag is a number' }, { chunk: 'never-acked' }]));
  await wrongTypeClosed;

  const truncated = await rawConnection();
  truncated.write(encode(['shop.truncated', [[1_700_000_000, { log: 'never complete' }]]]).subarray(0, 12));
  truncated.resetAndDestroy();

  const halfClosed = await rawConnection();
  const ackBytes: Buffer[] = [];
  halfClosed.on('data', (chunk: Buffer) => ackBytes.push(chunk));
  const halfClosedDone = closedByServer(halfClosed);
  // A good entry beside a malformed one, then the client shuts down its side and still waits for the ack.
  halfClosed.end(
    encode([
      'shop.mixed',
      [
        [1_700_000_002, { log: 'good beside a bad entry' }],
        ['not-a-time', 'not-a-record'],
      ],
      { chunk: 'mixed-1' },
    ]),
  );
  await halfClosedDone;
  assert.deepEqual([...decodeMulti(Buffer.concat(ackBytes))], [{ ack: 'mixed-1' }]);

  await good.emit('after', { log: 'good after the bad ones' });
  await good.disconnect();
});

test('fluent-logger-python (Debian python3-fluent-logger) sends Message mode with EventTime', async () => {
  // This client sends no chunk ids, so the server's committed counter is the signal.
  const before = await committedCount(meshlog, 'forward');
  execFileSync('/usr/bin/python3', [
    '-c',
    `from fluent import sender
s = sender.FluentSender('py', host='${host}', port=${port}, nanosecond_precision=True)
assert s.emit_with_time('app', sender.EventTime(1700000003.25), {'message': 'from python', 'level': 'debug'}), s.last_error
s.close()`,
  ]);
  await waitForCommitted(meshlog, 'forward', before + 1);
});

test('what was acknowledged is what is stored', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  assert.match(meshlog.output(), /closing connection after bad input/);
  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs ORDER BY timestamp, body`,
  );
  for (const eventMode of modes) {
    const tag = `shop.${eventMode}`;
    const mine = rows.filter((row) => row.log_attributes['fluent.tag'] === tag);
    assert.equal(mine.length, 2, `two records through ${eventMode}`);
    const [first, second] = mine;
    assert.equal(first.body, `payment retry via ${eventMode}`);
    assert.equal(first.timestamp, '1700000000123456789');
    assert.equal(first.severity_text, 'warn');
    assert.equal(first.severity_number, 13);
    assert.equal(first.tenant, 'default');
    assert.equal(first.receiver, 'forward');
    assert.equal(first.service_name, 'checkout');
    assert.deepEqual(first.log_attributes, { 'fluent.tag': tag, stream: 'stderr', attempt: '3', 'meshlog.parse_status': 'no_format' });
    assert.equal(first.resource_attributes['k8s.pod.name'], 'checkout-7d9f-abcde');
    assert.equal(first.resource_attributes['k8s.namespace.name'], 'shop');
    assert.equal(first.resource_attributes['k8s.node.name'], 'node-1');
    assert.equal(first.resource_attributes['k8s.pod.label.pod-template-hash'], '7d9f');

    assert.equal(second.body, `second via ${eventMode}`);
    assert.equal(second.timestamp, '1700000001000000000');
    assert.equal(second.severity_number, 17);
    assert.equal(second.service_name, tag, 'without Kubernetes metadata the tag names the service');
    assert.equal(second.log_attributes.nested, '{"a":[1,2]}');
  }
  const bodies = rows.map((row) => row.body);
  for (const body of ['good before the bad ones', 'good after the bad ones', 'good beside a bad entry'])
    assert.ok(bodies.includes(body), body);
  const malformed = rows.find((row) => row.log_attributes['fluent.parse_error']);
  assert.equal(malformed?.log_attributes['fluent.parse_error'], 'entry time is not an integer or EventTime');
  assert.equal(malformed?.body, '["not-a-time","not-a-record"]');
  assert.ok(!bodies.includes('never complete'));
  assert.ok(!bodies.includes('the tag is a number'));
  const python = rows.find((row) => row.log_attributes['fluent.tag'] === 'py.app');
  assert.equal(python?.body, 'from python');
  assert.equal(python?.timestamp, '1700000003250000000');
  assert.equal(python?.severity_number, 5);
  assert.equal(rows.length, modes.length * 2 + 5);
});
