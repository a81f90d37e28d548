import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { FluentClient } from '@fluent-org/logger';
import { committedCount, waitForCommitted } from '../../support/committedCount.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';
import { TestCertificateAuthority } from '../../support/testCertificateAuthority.js';

const exportPath = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

async function createKey(server: RunningMeshlog, name: string, roles: string[]): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, roles, tenants: ['*'] }),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { key: string }).key;
}

function query(server: RunningMeshlog, token: string): Promise<Response> {
  return fetch(`${server.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="limits"}')}&since=1h`, {
    headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'acme' },
  });
}

/** An empty OTLP/gRPC export (a valid request of no records) with the given token. */
function grpcExport(server: RunningMeshlog, token: string): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(server.listeners.otlp_grpc!, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest(
      exportPath,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      Buffer.alloc(0),
      metadata,
      (error) => resolve(error),
    ),
  ).finally(() => client.close());
}

/** Resolves once the server closes the socket (or after `withinMs`, to fail the test rather than hang). */
function closedBy(socket: net.Socket, withinMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function connect(address: string): Promise<net.Socket> {
  const [host, port] = address.split(/:(?=\d+$)/);
  const socket = net.connect(Number(port), host!.replace(/^\[|\]$/g, ''));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

// Rates of about one per 100 s: the second call in a row is refused however slow the machine is.
const slowRates = {
  MESHLOG_LIMITS_BURST_SECONDS: '1',
  MESHLOG_LIMITS_QUERY_REQUESTS_PER_SECOND_PER_KEY: '0.01',
  MESHLOG_LIMITS_INGEST_REQUESTS_PER_SECOND_PER_KEY: '0.01',
  MESHLOG_LIMITS_INGEST_RECORDS_PER_SECOND_PER_TENANT: '0.01',
};

test('rates per key and per tenant: 429 + Retry-After over HTTP, UNAVAILABLE over gRPC, other keys and tenants unaffected', async () => {
  const server = await startMeshlog({ env: slowRates });
  try {
    const [analystA, analystB] = [await createKey(server, 'analyst a', ['analyst']), await createKey(server, 'analyst b', ['analyst'])];
    assert.equal((await query(server, analystA)).status, 200);
    const limited = await query(server, analystA);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.match(await limited.text(), /rate limit exceeded, retry later: queries of analyst a above 0\.01 requests\/s/);
    assert.equal((await query(server, analystB)).status, 200, 'another key has its own bucket');

    // Records per tenant, whoever sends them: a first batch passes (and leaves a debt), the next is refused.
    const shippers = await Promise.all(['one', 'two', 'three'].map((name) => createKey(server, `shipper ${name}`, ['ingester'])));
    const ingest = (token: string, tenant: string) =>
      postOtlpJson(server.url, token, otlpJsonRequest('limits', ['a', 'b', 'c']), { 'x-scope-orgid': tenant });
    assert.equal((await ingest(shippers[0]!, 'acme')).status, 200);
    const overTenant = await ingest(shippers[1]!, 'acme');
    assert.equal(overTenant.status, 429);
    assert.match(await overTenant.text(), /records ingested into tenant \\?"acme\\?"/);
    assert.ok(Number(overTenant.headers.get('retry-after')) >= 1);
    assert.equal((await ingest(shippers[2]!, 'beta')).status, 200, 'another tenant has its own bucket');

    // Requests per key are one bucket across protocols: gRPC, then HTTP.
    const grpcShipper = await createKey(server, 'grpc shipper', ['ingester']);
    assert.equal(await grpcExport(server, grpcShipper), null);
    const refused = await grpcExport(server, grpcShipper);
    assert.equal(refused?.code, grpc.status.UNAVAILABLE);
    assert.match(refused?.details ?? '', /ingest requests of grpc shipper/);
    assert.equal((await ingest(grpcShipper, 'gamma')).status, 429);
  } finally {
    await server.stop();
  }
});

test('a TCP listener refuses connections past its limit and keeps serving the ones it holds', async () => {
  const server = await startMeshlog({ env: { MESHLOG_LIMITS_MAX_CONNECTIONS_PER_LISTENER: '2' } });
  try {
    const held = [await connect(server.listeners.forward!), await connect(server.listeners.forward!)];
    const extra = await connect(server.listeners.forward!);
    assert.equal(await closedBy(extra, 10_000), true, 'the third connection is closed');
    assert.ok(held.every((socket) => !socket.destroyed));
    held.forEach((socket) => socket.destroy());
    // A slot freed is a slot taken again, once the server has seen the close.
    let kept = false;
    for (let attempt = 0; attempt < 20 && !kept; attempt++) {
      const again = await connect(server.listeners.forward!);
      kept = !(await closedBy(again, 300));
      again.destroy();
    }
    assert.ok(kept, 'a connection is held again after the others closed');
  } finally {
    await server.stop();
  }
});

test('the OTLP/gRPC listener has the same connection cap: a client past it is refused, and served once a slot frees', async () => {
  const server = await startMeshlog({ env: { MESHLOG_LIMITS_MAX_CONNECTIONS_PER_LISTENER: '2' } });
  try {
    const held = [await connect(server.listeners.otlp_grpc!), await connect(server.listeners.otlp_grpc!)];
    const refused = await grpcExport(server, server.token);
    assert.equal(refused?.code, grpc.status.UNAVAILABLE, 'the third connection is closed before the call');
    assert.ok(held.every((socket) => !socket.destroyed));
    held.forEach((socket) => socket.destroy());
    // A slot freed is a slot taken again, once the server has seen the closes.
    let answer: grpc.ServiceError | null = refused;
    for (let attempt = 0; attempt < 20 && answer !== null; attempt++) answer = await grpcExport(server, server.token);
    assert.equal(answer, null);
    assert.match(server.output(), /connections refused: listener at its connection limit.*otlp_grpc|otlp_grpc.*connections refused/);
  } finally {
    await server.stop();
  }
});

async function waitForOutput(server: RunningMeshlog, pattern: RegExp): Promise<void> {
  while (!pattern.test(server.output())) await new Promise((resolve) => setTimeout(resolve, 50));
}

test('forward and syslog spend the ingest rate of their credential: a forward chunk over it is not acknowledged, a syslog connection is paused, nothing read is lost', async () => {
  const ca = new TestCertificateAuthority();
  const serverCertificate = ca.issue('localhost', 'server');
  const shipper = ca.issue('shipper-acme', 'client');
  const configFile = join(tempDataDir('meshlog-rates-'), 'meshlog.yaml');
  writeFileSync(
    configFile,
    [
      'forward:',
      '  shared_key: forward-rate-test-key',
      'syslog:',
      '  tls:',
      `    cert_file: ${serverCertificate.certFile}`,
      `    key_file: ${serverCertificate.keyFile}`,
      `    client_ca_file: ${ca.certFile}`,
      '    client_identities: [{ common_name: shipper-acme, roles: [ingester], tenants: [acme] }]',
      '',
    ].join('\n'),
  );
  // One request per credential, then one per 100 s: the second in a row is refused however slow the machine is.
  const server = await startMeshlog({
    args: ['--config', configFile],
    env: { ...slowRates, MESHLOG_LIMITS_INGEST_RECORDS_PER_SECOND_PER_TENANT: '0' },
  });
  const forward = new FluentClient('rates', {
    socket: { host: '127.0.0.1', port: Number(server.listeners.forward!.split(':').pop()), disableReconnect: true },
    security: { clientHostname: 'fluent-bit', sharedKey: 'forward-rate-test-key' },
    ack: { ackTimeout: 5000 },
  });
  try {
    await forward.connect();
    await forward.emit('event', { log: 'forward within the rate' });
    await assert.rejects(forward.emit('event', { log: 'forward over the rate' }), /ack response timeout/);
    await waitForOutput(server, /forward chunk over its ingest rate limit; not acknowledged/);
    assert.equal(await committedCount(server, 'forward'), 1);

    const [host, port] = server.listeners.syslog_tls!.split(/:(?=\d+$)/);
    const syslog = tls.connect({ host, port: Number(port), ca: ca.cert, cert: shipper.cert, key: shipper.key, servername: 'localhost' });
    syslog.on('error', () => undefined);
    await new Promise((resolve) => syslog.once('secureConnect', resolve));
    const line = (text: string) => `<13>1 2026-11-25T15:00:00Z host app - - - ${text}\n`;
    syslog.write(line('syslog within the rate'));
    await waitForCommitted(server, 'syslog_tls', 1);
    syslog.write(line('syslog held back by the rate'));
    await waitForOutput(server, /syslog connection over its ingest rate limit: reading paused/);
    assert.equal(await committedCount(server, 'syslog_tls'), 1, 'the second message waits for its turn');
  } finally {
    await forward.disconnect().catch(() => undefined);
    // Stopping commits what the paused connection had already sent.
    assert.equal(await server.stop(), 0, server.output());
  }
  const rows = await readCommitted<{ tenant: string; body: string }>(server.dataDir, `SELECT tenant, body FROM meshlog.logs ORDER BY body`);
  assert.deepEqual(rows, [
    { tenant: 'default', body: 'forward within the rate' },
    { tenant: 'acme', body: 'syslog held back by the rate' },
    { tenant: 'acme', body: 'syslog within the rate' },
  ]);
});

test('slow clients are cut off: idle forward and syslog connections, HTTP headers that never finish', async () => {
  const server = await startMeshlog({
    env: {
      MESHLOG_LIMITS_TCP_IDLE_TIMEOUT_MS: '1000',
      MESHLOG_LIMITS_HTTP_HEADERS_TIMEOUT_MS: '1000',
      MESHLOG_LIMITS_HTTP_REQUEST_TIMEOUT_MS: '2000',
    },
  });
  try {
    const forward = await connect(server.listeners.forward!);
    const syslog = await connect(server.listeners.syslog_tcp!);
    const http = await connect(new URL(server.url).host);
    let answer = '';
    http.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    http.write('POST /v1/logs HTTP/1.1\r\nHost: meshlog\r\nX-Slow: ');
    const closed = await Promise.all([closedBy(forward, 20_000), closedBy(syslog, 20_000), closedBy(http, 20_000)]);
    assert.deepEqual(closed, [true, true, true]);
    assert.match(answer, /^HTTP\/1\.1 408/);
  } finally {
    await server.stop();
  }
});
