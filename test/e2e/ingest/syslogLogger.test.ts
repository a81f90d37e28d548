import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { waitForCommitted } from '../../support/committedCount.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

let meshlog: RunningMeshlog;
const portOf = (address: string) => address.split(':').pop()!;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

/** util-linux logger, the system's own syslog client. */
function logger(transport: 'tcp' | 'udp', args: string[], message: string): void {
  const port = portOf(meshlog.listeners[`syslog_${transport}`]);
  execFileSync('logger', ['--server', '127.0.0.1', '--port', port, transport === 'tcp' ? '--tcp' : '--udp', ...args, message]);
}

test('logger over TCP (octet counting and LF framing) and UDP, RFC 5424 and RFC 3164', async () => {
  logger(
    'tcp',
    [
      '--rfc5424',
      '--octet-count',
      '-t',
      'checkout',
      '-p',
      'local3.err',
      '--msgid',
      'PAY',
      '--sd-id',
      'order@32473',
      '--sd-param',
      'id="42"',
      '--sd-param',
      'amount="9.99"',
    ],
    'payment failed over tcp octet',
  );
  logger('tcp', ['--rfc3164', '-t', 'nginx', '-p', 'daemon.warning'], 'upstream slow over tcp lf');
  logger('udp', ['--rfc5424', '-t', 'cart', '-p', 'user.info'], 'cart updated over udp 5424');
  logger('udp', ['--rfc3164', '-t', 'sshd', '--id=4242', '-p', 'auth.notice'], 'login over udp 3164');
  await waitForCommitted(meshlog, 'syslog_tcp', 2);
  await waitForCommitted(meshlog, 'syslog_udp', 2);
});

test('garbage, an invalid priority and a reset connection do not affect a good sender', async () => {
  const tcpPort = Number(portOf(meshlog.listeners.syslog_tcp));
  const garbage = connect(tcpPort, '127.0.0.1');
  await new Promise((resolve) => garbage.once('connect', resolve));
  garbage.write(Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
  garbage.write('<999>1 2026-11-25T12:00:00Z host app - - - priority out of range\n');
  garbage.end('17 <13>1 - - - - -'); // an octet-counted frame cut short by the end of the connection

  const reset = connect(tcpPort, '127.0.0.1');
  await new Promise((resolve) => reset.once('connect', resolve));
  reset.write('<13>1 - - - - - half a message, then a reset');
  reset.resetAndDestroy();

  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    udp.send('<13>not a syslog header at all', Number(portOf(meshlog.listeners.syslog_udp)), '127.0.0.1', (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  udp.close();

  logger('tcp', ['--rfc5424', '--octet-count', '-t', 'checkout'], 'still accepted after the garbage');
  await waitForCommitted(meshlog, 'syslog_udp', 3);
  await waitForCommitted(meshlog, 'syslog_tcp', 6);
});

test('every message is stored, parsed or marked', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    'SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs ORDER BY observed_timestamp',
  );
  const byBody = (body: string) => {
    const row = rows.find((candidate) => candidate.body === body);
    assert.ok(row, `stored: ${body}\n${JSON.stringify(rows, null, 1)}`);
    return row;
  };

  const octet = byBody('payment failed over tcp octet');
  assert.equal(octet.receiver, 'syslog_tcp');
  assert.equal(octet.service_name, 'checkout');
  assert.equal(octet.severity_text, 'err');
  assert.equal(octet.severity_number, 17);
  assert.equal(octet.log_attributes['syslog.facility'], 'local3');
  assert.equal(octet.log_attributes['syslog.msgid'], 'PAY');
  assert.equal(octet.log_attributes['syslog.sd.order@32473.id'], '42');
  assert.equal(octet.log_attributes['syslog.sd.order@32473.amount'], '9.99');
  assert.equal(octet.log_attributes['syslog.sd.timeQuality.tzKnown'], '1', 'logger adds timeQuality');
  assert.ok(octet.resource_attributes['host.name'], 'the sender host name');
  assert.match(octet.log_attributes['client.address'], /^127\.0\.0\.1:\d+$/);

  const lf = byBody('upstream slow over tcp lf');
  assert.equal(lf.service_name, 'nginx');
  assert.equal(lf.severity_number, 13);
  assert.equal(lf.log_attributes['syslog.facility'], 'daemon');

  const udp5424 = byBody('cart updated over udp 5424');
  assert.equal(udp5424.receiver, 'syslog_udp');
  assert.equal(udp5424.service_name, 'cart');
  assert.equal(udp5424.severity_number, 9);

  const udp3164 = byBody('login over udp 3164');
  assert.equal(udp3164.service_name, 'sshd');
  assert.equal(udp3164.log_attributes['syslog.procid'], '4242');
  assert.equal(udp3164.severity_text, 'notice');

  byBody('still accepted after the garbage');

  const badPriority = byBody('<999>1 2026-11-25T12:00:00Z host app - - - priority out of range');
  assert.equal(badPriority.log_attributes['syslog.parse_error'], 'invalid PRI <999>');
  // rsyslog accepts <PRI> with no header (Python's SysLogHandler sends it): the rest is the message.
  const noHeader = byBody('not a syslog header at all');
  assert.equal(noHeader.log_attributes['syslog.parse_error'], undefined);
  assert.equal(noHeader.severity_text, 'notice');
  assert.equal(noHeader.service_name, 'unknown_service', 'no tag: reachable as {service_name="unknown_service"}');
  assert.equal(noHeader.receiver, 'syslog_udp');
  assert.equal(byBody('17 <13>1 - - - - -').log_attributes['syslog.parse_error'], 'missing <PRI>');
  assert.equal(byBody('17 <13>1 - - - - -').service_name, 'unknown_service');
  const garbage = rows.find((row) => row.body.startsWith('\uFFFD'));
  assert.equal(garbage?.log_attributes['syslog.parse_error'], 'missing <PRI>', 'binary garbage is kept, marked');
});
