import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitForCommitted } from '../../support/committedCount.js';
import { startMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test('senders on Indian Standard Time: logger --rfc3164 (local time, no zone) is stored at the true instant with syslog.timezone, RFC 5424 by its own offset', async () => {
  const meshlog = await startMeshlog({ env: { MESHLOG_SYSLOG_TIMEZONE: 'Asia/Kolkata' } });
  try {
    const port = meshlog.listeners.syslog_tcp.split(':').pop()!;
    const sentAtMs = Date.now();
    // util-linux logger writes the RFC 3164 timestamp in the local time of its TZ, as rsyslog's traditional format does.
    for (const [format, body] of [
      ['--rfc3164', 'kolkata rfc3164'],
      ['--rfc5424', 'kolkata rfc5424'],
    ]) {
      execFileSync('logger', ['--server', '127.0.0.1', '--port', port, '--tcp', format, '-t', 'billing', body], {
        env: { ...process.env, TZ: 'Asia/Kolkata' },
      });
    }
    await waitForCommitted(meshlog, 'syslog_tcp', 2);
    assert.equal(await meshlog.stop(), 0, meshlog.output());
    const rows = await readCommitted<{ body: string; ms: string }>(
      meshlog.dataDir,
      "SELECT body, toString(toUnixTimestamp64Milli(timestamp)) AS ms FROM meshlog.logs WHERE service_name = 'billing'",
    );
    assert.equal(rows.length, 2, JSON.stringify(rows));
    for (const row of rows) {
      // Seconds apart at most, however busy the machine; read as UTC, the 3164 line would be 5 h 30 min in the future.
      const skewMs = Number(row.ms) - sentAtMs;
      assert.ok(
        Math.abs(skewMs) < 10 * 60_000,
        `${row.body}: stored ${new Date(Number(row.ms)).toISOString()}, sent ${new Date(sentAtMs).toISOString()}`,
      );
    }
  } finally {
    if (meshlog.process.exitCode === null) await meshlog.kill();
  }
});

test('senders in two zones at once: RFC 3164 times are read in the zone syslog.sender_timezones gives the source address, over TCP and UDP', async () => {
  const configDir = mkdtempSync(join(tmpdir(), 'meshlog-sender-zones-'));
  const configFile = join(configDir, 'meshlog.yaml');
  // 127.0.0.2 is an office on Indian Standard Time; every other sender keeps UTC.
  writeFileSync(
    configFile,
    'syslog:\n  timezone: UTC\n  sender_timezones:\n    - addresses: [127.0.0.2/32, "2001:db8::/32"]\n      timezone: Asia/Kolkata\n',
  );
  const meshlog = await startMeshlog({ args: ['--config', configFile] });
  try {
    const sentAt = new Date();
    const wallTime = (zone: string) => {
      const parts = Object.fromEntries(
        new Intl.DateTimeFormat('en-US', {
          timeZone: zone,
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          hourCycle: 'h23',
        })
          .formatToParts(sentAt)
          .map((part) => [part.type, part.value]),
      );
      return `${parts.month} ${parts.day.padStart(2, ' ')} ${parts.hour}:${parts.minute}:${parts.second}`;
    };
    const line = (zone: string, body: string) => `<13>${wallTime(zone)} officehost zones: ${body}\n`;
    const [, tcpPort] = meshlog.listeners.syslog_tcp.split(/:(?=\d+$)/);
    const [, udpPort] = meshlog.listeners.syslog_udp.split(/:(?=\d+$)/);
    for (const [localAddress, zone, body] of [
      ['127.0.0.2', 'Asia/Kolkata', 'tcp from kolkata'],
      ['127.0.0.1', 'UTC', 'tcp from utc'],
    ]) {
      const socket = net.connect({ host: '127.0.0.1', port: Number(tcpPort), localAddress });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      await new Promise<void>((resolve) => socket.end(line(zone, body), () => resolve()));
    }
    for (const [address, zone, body] of [
      ['127.0.0.2', 'Asia/Kolkata', 'udp from kolkata'],
      ['127.0.0.1', 'UTC', 'udp from utc'],
    ]) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
      await new Promise<void>((resolve, reject) =>
        socket.send(line(zone, body), Number(udpPort), '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
      socket.close();
    }
    await waitForCommitted(meshlog, 'syslog_tcp', 2);
    await waitForCommitted(meshlog, 'syslog_udp', 2);
    assert.equal(await meshlog.stop(), 0, meshlog.output());
    const rows = await readCommitted<{ body: string; ms: string }>(
      meshlog.dataDir,
      "SELECT body, toString(toUnixTimestamp64Milli(timestamp)) AS ms FROM meshlog.logs WHERE service_name = 'zones' ORDER BY body",
    );
    assert.deepEqual(
      rows.map((row) => row.body),
      ['tcp from kolkata', 'tcp from utc', 'udp from kolkata', 'udp from utc'],
    );
    for (const row of rows) {
      // The wall time has whole seconds; read in the wrong zone it would be 5 h 30 min off.
      const skewMs = Number(row.ms) - Math.floor(sentAt.getTime() / 1000) * 1000;
      assert.equal(skewMs, 0, `${row.body}: stored ${new Date(Number(row.ms)).toISOString()}, sent ${sentAt.toISOString()}`);
    }
  } finally {
    if (meshlog.process.exitCode === null) await meshlog.kill();
    rmSync(configDir, { recursive: true, force: true });
  }
});

test('a sender zone with a malformed address or an unknown zone is refused at start, naming the entry', async () => {
  const configDir = mkdtempSync(join(tmpdir(), 'meshlog-sender-zones-'));
  try {
    for (const [entry, message] of [
      ['addresses: [10.0.0.0/33]\n      timezone: UTC', /sender_timezones\.0\.addresses\.0.*not an IP address or CIDR block/],
      ['addresses: [10.0.0.1]\n      timezone: Mars/Olympus', /sender_timezones\.0\.timezone.*unknown time zone/],
    ] as const) {
      const configFile = join(configDir, 'meshlog.yaml');
      writeFileSync(configFile, `syslog:\n  sender_timezones:\n    - ${entry}\n`);
      const result = spawnSync(process.execPath, [cli, 'start', '--config', configFile, '--data-dir', join(configDir, 'data')], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr + result.stdout, message);
    }
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
});
