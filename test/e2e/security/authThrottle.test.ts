import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { FluentClient } from '@fluent-org/logger';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';

const sharedKey = 'forward-shared-key-for-throttle-tests';
const failuresPerAddress = 20;
const idleTimeoutMs = 1500;
let meshlog: RunningMeshlog;

before(async () => {
  const configFile = join(tempDataDir('meshlog-config-'), 'meshlog.yaml');
  writeFileSync(configFile, `forward:\n  port: 0\n  shared_key: ${sharedKey}\n  tenant: edge\n`);
  meshlog = await startMeshlog({
    args: ['--config', configFile, '--log-level', 'debug'],
    env: {
      MESHLOG_LIMITS_LOGIN_FAILURES_PER_ADDRESS: String(failuresPerAddress),
      MESHLOG_LIMITS_LOGIN_FAILURE_WINDOW_MS: '600000',
      MESHLOG_LIMITS_TCP_IDLE_TIMEOUT_MS: String(idleTimeoutMs),
    },
  });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

interface Answer {
  status: number;
  text: string;
  retryAfter: string | undefined;
}

/** One HTTP request from a chosen loopback address (127.0.0.0/8 all reaches the server; each is its own client address). */
function from(
  localAddress: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const url = new URL(meshlog.url);
  return new Promise((resolve, reject) => {
    const sent = http.request(
      { host: url.hostname, port: url.port, path, localAddress, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode!, text, retryAfter: response.headers['retry-after'] as string | undefined }),
        );
      },
    );
    sent.on('error', reject);
    sent.end(options.body);
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const logIn = (localAddress: string, token: string) =>
  from(localAddress, '/api/v1/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });

interface AuditEvent {
  action: string;
  outcome: string;
  remote_address: string;
  target: string;
  detail: string;
}
async function auditEvents(action: string): Promise<AuditEvent[]> {
  const answer = await from('127.0.0.9', `/api/v1/audit?since=1h&limit=10000&action=${action}`, { headers: bearer(meshlog.token) });
  assert.equal(answer.status, 200, answer.text);
  return (JSON.parse(answer.text) as { events: AuditEvent[] }).events;
}

test('600 wrong bearer tokens from one address are throttled', async () => {
  const started = performance.now();
  const statuses: number[] = [];
  const retryAfters = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const answer = await from('127.0.0.2', '/loki/api/v1/labels', { headers: bearer(`guess-${i}-0123456789abcdef`) });
    statuses.push(answer.status);
    if (answer.status === 429) retryAfters.add(answer.retryAfter ?? 'none');
  }
  const elapsedMs = performance.now() - started;
  assert.equal(statuses.filter((status) => status === 401).length, failuresPerAddress, 'only the first failures are checked at all');
  assert.equal(statuses.filter((status) => status === 429).length, 600 - failuresPerAddress);
  assert.ok(![...retryAfters].some((value) => !(Number(value) >= 1 && Number(value) <= 600)), `Retry-After: ${[...retryAfters]}`);
  // The right token from the throttled address waits too (it is not checked); from any other address it is let in.
  assert.equal((await from('127.0.0.2', '/loki/api/v1/labels', { headers: bearer(meshlog.token) })).status, 429);
  assert.equal((await from('127.0.0.3', '/loki/api/v1/labels', { headers: bearer(meshlog.token) })).status, 200);
  // The UI login path is the same throttle.
  const uiLogin = await logIn('127.0.0.2', meshlog.token);
  assert.equal(uiLogin.status, 429, uiLogin.text);
  assert.match(uiLogin.text, /too many failed authentications from 127\.0\.0\.2/);

  const failures = (await auditEvents('auth.failure')).filter((event) => event.remote_address === '127.0.0.2');
  assert.equal(failures.length, failuresPerAddress, 'each checked failure audited, the refused ones not one by one');
  const throttled = (await auditEvents('auth.throttled')).filter((event) => event.remote_address === '127.0.0.2');
  assert.equal(throttled.length, 1, JSON.stringify(throttled));
  assert.equal(JSON.parse(throttled[0]!.detail).failures, failuresPerAddress);
  console.log(
    `600 wrong bearer tokens from one address: ${failuresPerAddress} checked (401), ${600 - failuresPerAddress} refused unchecked (429) in ${(elapsedMs / 1000).toFixed(1)} s`,
  );
});

test('a key\u2019s owner is not locked out by another address\u2019s failures', async () => {
  const created = await from('127.0.0.9', '/api/v1/admin/keys', {
    method: 'POST',
    headers: { ...bearer(meshlog.token), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'owner', roles: ['analyst', 'ingester'], tenants: ['default'] }),
  });
  assert.equal(created.status, 201, created.text);
  const key = (JSON.parse(created.text) as { key: string }).key;
  const wrongSecret = `${key.slice(0, 17)}${'A'.repeat(43)}`;
  // An attacker fails in the key's name, through the UI login and as a bearer token, far past every limit.
  for (let i = 0; i < 30; i++) {
    await logIn('127.0.0.4', wrongSecret);
    await from('127.0.0.4', '/loki/api/v1/labels', { headers: bearer(wrongSecret) });
  }
  assert.equal((await logIn('127.0.0.4', wrongSecret)).status, 429, 'the attacker is throttled');
  // The owner, from their own address, logs in and reads.
  const owner = await logIn('127.0.0.5', key);
  assert.equal(owner.status, 200, owner.text);
  assert.equal((await from('127.0.0.5', '/loki/api/v1/labels', { headers: bearer(key) })).status, 200);
  const refusedLogins = (await auditEvents('auth.session.login')).filter((event) => event.remote_address === '127.0.0.4');
  assert.ok(
    refusedLogins.length > 0 && refusedLogins.every((event) => event.target === `key:${key.slice(4, 16)}` && event.outcome === 'denied'),
    'whose key was tried is audited',
  );
});

function forwardClient(key: string): FluentClient {
  return new FluentClient('throttle', {
    socket: { host: '127.0.0.1', port: Number(meshlog.listeners.forward!.split(':').pop()), disableReconnect: true },
    security: { clientHostname: 'fluent-bit.node-7', sharedKey: key },
    ack: { ackTimeout: 20_000 },
  });
}

async function waitForOutput(pattern: RegExp, count = 1): Promise<void> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    if ((meshlog.output().match(new RegExp(pattern.source, 'g')) ?? []).length >= count) return;
  }
  assert.fail(`${pattern} not logged ${count} time(s)`);
}

test('a forward shared_key failure is audited', async () => {
  const wrong = forwardClient('not-the-shared-key');
  await wrong.connect();
  void wrong.emit('refused', { log: 'must not be stored' }).catch(() => undefined);
  await waitForOutput(/forward handshake refused: shared_key mismatch/);
  await wrong.disconnect().catch(() => undefined);
  // The refusal is logged before its audit record commits.
  let failures: AuditEvent[] = [];
  for (
    const deadline = Date.now() + 10_000;
    failures.length === 0 && Date.now() < deadline;
    await new Promise((resolve) => setTimeout(resolve, 100))
  ) {
    failures = (await auditEvents('auth.failure')).filter((event) => event.target === 'forward');
  }
  assert.equal(failures.length, 1, JSON.stringify(failures));
  assert.equal(failures[0]!.remote_address, '127.0.0.1');
  assert.deepEqual(JSON.parse(failures[0]!.detail), { reason: 'shared_key mismatch', protocol: 'forward', method: 'shared_key' });
});

test('wrong gRPC tokens are throttled by the same throttle, which then refuses that address on forward and HTTP too', async () => {
  const client = new grpc.Client(meshlog.listeners.otlp_grpc!, grpc.credentials.createInsecure());
  const call = (token: string) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        Buffer.alloc(0),
        metadata,
        (error) => resolve(error),
      );
    });
  const codes: (number | undefined)[] = [];
  // One forward failure from 127.0.0.1 is already counted.
  for (let i = 0; i < failuresPerAddress + 5; i++) codes.push((await call(`grpc-guess-${i}-0123456789`))?.code);
  assert.equal(codes.filter((code) => code === grpc.status.UNAUTHENTICATED).length, failuresPerAddress - 1);
  assert.equal(codes.filter((code) => code === grpc.status.UNAVAILABLE).length, 6, 'throttled: retry later');
  const right = await call(meshlog.token);
  assert.equal(right?.code, grpc.status.UNAVAILABLE, 'the right token from the throttled address waits as well');
  client.close();
  const grpcFailures = (await auditEvents('auth.failure')).filter((event) => event.target.startsWith('grpc '));
  assert.equal(grpcFailures.length, failuresPerAddress - 1);

  // The forward handshake from the same address is refused unchecked, even with the right key.
  const refused = forwardClient(sharedKey);
  await refused.connect();
  void refused.emit('refused', { log: 'must not be stored' }).catch(() => undefined);
  await waitForOutput(/forward handshake refused unchecked: too many failed authentications/);
  await refused.disconnect().catch(() => undefined);
  assert.equal((await from('127.0.0.1', '/loki/api/v1/labels', { headers: bearer(meshlog.token) })).status, 429);
});

test('an idle TCP connection close is not logged as bad input', async () => {
  const before = (meshlog.output().match(/closing connection after bad input/g) ?? []).length;
  const idleCloses = (meshlog.output().match(/closing idle connection/g) ?? []).length;
  const closed = await Promise.all(
    [meshlog.listeners.forward!, meshlog.listeners.syslog_tcp!].map(
      (address) =>
        new Promise<number>((resolve, reject) => {
          const started = Date.now();
          const socket = net.connect({ port: Number(address.split(':').pop()), host: '127.0.0.1', localAddress: '127.0.0.8' });
          socket.on('data', () => undefined);
          socket.on('error', () => undefined);
          socket.once('close', () => resolve(Date.now() - started));
          setTimeout(() => reject(new Error(`${address} stayed open`)), 20_000).unref();
        }),
    ),
  );
  for (const ms of closed) assert.ok(ms >= idleTimeoutMs - 100, `closed after ${ms} ms`);
  await waitForOutput(/closing idle connection/, idleCloses + 2);
  assert.equal(
    (meshlog.output().match(/closing connection after bad input/g) ?? []).length,
    before,
    meshlog
      .output()
      .split('\n')
      .filter((line) => line.includes('bad input'))
      .join('\n'),
  );
});
