import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { test } from 'node:test';
import { FluentClient } from '@fluent-org/logger';
import { committedCount, waitForCommitted } from '../../support/committedCount.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { TestCertificateAuthority } from '../../support/testCertificateAuthority.js';

/** Every attacking connection comes from this loopback address; the normal client from 127.0.0.1. */
const attacker = '127.0.0.2';
const attackers = 500;
/**
 * The listener holds 450 connections, one address at most 300: without the
 * per-address cap the 500 slow connections would take every slot.
 */
const limits = { MESHLOG_LIMITS_MAX_CONNECTIONS_PER_LISTENER: '450', MESHLOG_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: '300' };

const portOf = (address: string) => Number(address.split(':').pop());

interface Slowloris {
  sockets: net.Socket[];
  open: () => number;
  stop: () => void;
}

/**
 * Opens `count` connections from the attacker address, sends `opening`, then
 * one byte of `trickle` every 2 s on each: never a whole request or message,
 * and never idle long enough for an idle timeout.
 */
async function slowloris(port: number, count: number, opening: Buffer, trickle: Buffer): Promise<Slowloris> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: attacker });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
    if (!socket.destroyed) socket.write(opening);
    sockets.push(socket);
  }
  let position = 0;
  const timer = setInterval(() => {
    const byte = trickle.subarray(position % trickle.length, (position % trickle.length) + 1);
    position++;
    for (const socket of sockets) if (!socket.destroyed) socket.write(byte);
  }, 2000);
  // The server's refusals (connections past the caps) arrive as closes.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return {
    sockets,
    open: () => sockets.filter((socket) => !socket.destroyed && !socket.readableEnded).length,
    stop: () => {
      clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

test('500 slowloris connections on the forward port do not stop a normal sender', async () => {
  const server = await startMeshlog({ env: limits });
  // A msgpack [tag, time, record] whose tag string never ends.
  const attack = await slowloris(portOf(server.listeners.forward!), attackers, Buffer.from([0x93, 0xd9, 0xff]), Buffer.from('a'));
  const sender = new FluentClient('normal', {
    socket: { host: '127.0.0.1', port: portOf(server.listeners.forward!), disableReconnect: true },
    ack: { ackTimeout: 20_000 },
  });
  try {
    assert.equal(attack.open(), 300, 'the attacker holds exactly its address cap');
    await sender.connect();
    // Spread over the trickle: each event is acknowledged, i.e. committed.
    for (let i = 0; i < 20; i++) {
      await sender.emit('event', { log: `normal forward event ${i}` });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(await committedCount(server, 'forward'), 20);
    assert.equal(attack.open(), 300, 'the slow connections were still open throughout');
    assert.match(server.output(), /connections refused: client address at its connection limit/);
  } finally {
    attack.stop();
    await sender.disconnect().catch(() => undefined);
    assert.equal(await server.stop(), 0, server.output());
  }
});

test('500 slowloris connections on the syslog TCP port do not stop a normal sender', async () => {
  const server = await startMeshlog({ env: limits });
  const port = portOf(server.listeners.syslog_tcp!);
  // A syslog line that never ends (no newline): held until it reaches the frame limit.
  const attack = await slowloris(port, attackers, Buffer.from('<13>1 2026-12-01T00:00:00Z host app - - - '), Buffer.from('slow'));
  const sender = net.connect({ host: '127.0.0.1', port });
  sender.on('error', () => undefined);
  try {
    assert.equal(attack.open(), 300, 'the attacker holds exactly its address cap');
    await new Promise((resolve) => sender.once('connect', resolve));
    for (let i = 0; i < 20; i++) {
      sender.write(`<13>1 ${new Date().toISOString()} host normal - - - normal syslog line ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await waitForCommitted(server, 'syslog_tcp', 20);
    assert.equal(await committedCount(server, 'syslog_tcp'), 20, 'only the normal lines: no partial slow line was committed');
    assert.equal(attack.open(), 300, 'the slow connections were still open throughout');
  } finally {
    attack.stop();
    sender.destroy();
    assert.equal(await server.stop(), 0, server.output());
  }
});

test('500 slowloris HTTP clients that never finish their headers do not stop ingest or queries, and are cut off', async () => {
  const server = await startMeshlog({ env: { ...limits, MESHLOG_LIMITS_HTTP_HEADERS_TIMEOUT_MS: '4000' } });
  const attack = await slowloris(
    portOf(new URL(server.url).host),
    attackers,
    Buffer.from('POST /v1/logs HTTP/1.1\r\nHost: meshlog\r\nX-Slow: '),
    Buffer.from('abcdefgh'),
  );
  try {
    assert.ok(attack.open() <= 300, `the attacker holds at most its address cap (${attack.open()})`);
    for (let i = 0; i < 10; i++) {
      const response = await postOtlpJson(server.url, server.token, otlpJsonRequest('normal', [`normal http record ${i}`]));
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
    const query = await fetch(`${server.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="normal"}')}&since=1h`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(query.status, 200);
    const streams = ((await query.json()) as { data: { result: { values: unknown[] }[] } }).data.result;
    assert.equal(
      streams.reduce((sum, stream) => sum + stream.values.length, 0),
      10,
    );
    // The header timeout holds although a byte arrives every 2 s: every slow client is gone within it (plus Node's 1 s check).
    const deadline = Date.now() + 15_000;
    while (attack.open() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(attack.open(), 0, 'every slow client was cut off');
  } finally {
    attack.stop();
    assert.equal(await server.stop(), 0, server.output());
  }
});

test('500 slowloris TLS handshakes on the syslog TLS port do not stop a normal TLS sender', async () => {
  const ca = new TestCertificateAuthority();
  const certificate = ca.issue('localhost', 'server');
  const configFile = join(tempDataDir('meshlog-slowloris-tls-'), 'meshlog.yaml');
  writeFileSync(
    configFile,
    ['syslog:', '  tls:', `    cert_file: ${certificate.certFile}`, `    key_file: ${certificate.keyFile}`, ''].join('\n'),
  );
  const server = await startMeshlog({ args: ['--config', configFile], env: limits });
  const port = portOf(server.listeners.syslog_tls!);
  // The first bytes of a TLS record header, then one more every 2 s: a ClientHello that never completes.
  const attack = await slowloris(port, attackers, Buffer.from([0x16, 0x03]), Buffer.from([0x01]));
  try {
    assert.equal(attack.open(), 300, 'the attacker holds exactly its address cap, counted before the handshake');
    const sender = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'localhost' });
    sender.on('error', () => undefined);
    await new Promise((resolve) => sender.once('secureConnect', resolve));
    for (let i = 0; i < 20; i++) sender.write(`<13>1 ${new Date().toISOString()} host normal - - - normal tls line ${i}\n`);
    await waitForCommitted(server, 'syslog_tls', 20);
    sender.end();
    assert.doesNotMatch(
      server.output(),
      /"reason":"socket hang up","msg":"TLS handshake failed"/,
      'refused connections are reported once a minute, not one warning each',
    );
    assert.match(server.output(), /connections refused: client address at its connection limit/);
  } finally {
    attack.stop();
    assert.equal(await server.stop(), 0, server.output());
  }
});
