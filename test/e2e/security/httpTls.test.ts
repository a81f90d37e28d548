import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import { TestCertificateAuthority } from '../../support/testCertificateAuthority.js';
import { waitFor } from '../../support/waitFor.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;
let ca: TestCertificateAuthority;
let serverCertFile: string;
let serverKeyFile: string;
let port: number;

before(async () => {
  ca = new TestCertificateAuthority();
  const server = ca.issue('localhost', 'server');
  // The server reads its files at start and on SIGHUP: keep them at fixed paths the test can replace.
  const dir = tempDataDir('meshlog-tls-');
  serverCertFile = join(dir, 'server.pem');
  serverKeyFile = join(dir, 'server.key');
  copyFileSync(server.certFile, serverCertFile);
  copyFileSync(server.keyFile, serverKeyFile);
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    `tls:\n  cert_file: ${serverCertFile}\n  key_file: ${serverKeyFile}\n  client_ca_file: ${ca.certFile}\n` +
      `  client_identities:\n    - { common_name: agent-node-1, roles: [ingester], tenants: [acme] }\n`,
  );
  meshlog = await startMeshlog({ args: ['--config', config] });
  assert.match(meshlog.url, /^https:/);
  port = Number(new URL(meshlog.url).port);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

function handshake(
  options: tls.ConnectionOptions,
  path = '/ready',
): Promise<{ ok: boolean; status?: number; error?: string; fingerprint?: string; protocol?: string | null }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.cert, ...options }, () => {
      // With TLS 1.3 a rejected client certificate surfaces after the handshake: wait for the server's verdict.
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk));
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
      resolve({ ok: status === 200, status, fingerprint: socket.getPeerCertificate()?.fingerprint256, protocol: socket.getProtocol() });
    });
    socket.on('error', (error) => resolve({ ok: false, error: (error as NodeJS.ErrnoException).code ?? error.message }));
  });
}

test('the OpenTelemetry exporter ships over mTLS with a client certificate mapped to an identity', async () => {
  const client = ca.issue('agent-node-1', 'client');
  const exporter = new OTLPLogExporter({
    url: `${meshlog.url}/v1/logs`,
    headers: { 'X-Scope-OrgID': 'acme' },
    httpAgentOptions: { ca: ca.cert, cert: client.cert, key: client.key },
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'mtls-agent' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  provider.getLogger('t').emit({ severityNumber: SeverityNumber.INFO, body: 'over mutual TLS' });
  await provider.forceFlush();
  await provider.shutdown();

  const other = ca.issue('unmapped-service', 'client');
  const unmapped = await handshake({ cert: other.cert, key: other.key }, '/loki/api/v1/labels');
  assert.equal(unmapped.status, 401, 'a valid certificate whose name maps to no identity still needs a token');
  const mapped = await handshake({ cert: client.cert, key: client.key }, '/loki/api/v1/labels');
  assert.equal(mapped.status, 403, 'the mapped certificate is an ingester: known, but not allowed to query');

  await meshlog.stop();
  const rows = await readCommitted<{ tenant: string; body: string }>(
    meshlog.dataDir,
    `SELECT tenant, body FROM meshlog.logs WHERE service_name = 'mtls-agent'`,
  );
  assert.deepEqual(rows, [{ tenant: 'acme', body: 'over mutual TLS' }]);
  meshlog = await startMeshlog({
    dataDir: meshlog.dataDir,
    args: meshlog.process.spawnargs.slice(meshlog.process.spawnargs.indexOf('--config'), meshlog.process.spawnargs.indexOf('--config') + 2),
  });
  port = Number(new URL(meshlog.url).port);
});

test('clients without a certificate, with a certificate of another CA, or speaking TLS 1.0/1.1 are refused', async () => {
  const client = ca.issue('agent-node-1', 'client', 'agent-again');
  const good = await handshake({ cert: client.cert, key: client.key });
  assert.ok(good.ok, `control: the right certificate over TLS 1.2+ works (${good.error})`);

  assert.equal((await handshake({})).ok, false, 'no client certificate');
  const rogue = new TestCertificateAuthority('rogue CA').issue('agent-node-1', 'client');
  assert.equal((await handshake({ cert: rogue.cert, key: rogue.key })).ok, false, 'a certificate of another CA');

  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    const old = await handshake({
      cert: client.cert,
      key: client.key,
      minVersion: version,
      maxVersion: version,
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    assert.equal(old.ok, false, version);
    assert.match(old.error ?? '', /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|VERSION/i, `${version} is refused by the server: ${old.error}`);
  }
  const modern = await handshake({ cert: client.cert, key: client.key, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  assert.ok(modern.ok && modern.protocol === 'TLSv1.2', 'TLS 1.2 is accepted');

  // openssl s_client, a real peer, agrees.
  const sClient = spawnSync(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      ca.certFile,
      '-cert',
      client.certFile,
      '-key',
      client.keyFile,
      '-verify_return_error',
      '-brief',
    ],
    { input: '', encoding: 'utf8', timeout: 20_000 },
  );
  assert.match(sClient.stderr + sClient.stdout, /Verification: OK/);
});

test('SIGHUP reloads the certificate without a restart', async () => {
  const client = ca.issue('agent-node-1', 'client', 'agent-hup');
  const before = await handshake({ cert: client.cert, key: client.key });
  const renewed = ca.issue('localhost', 'server', 'renewed-server');
  copyFileSync(renewed.certFile, serverCertFile);
  copyFileSync(renewed.keyFile, serverKeyFile);
  meshlog.process.kill('SIGHUP');
  await waitFor(() => meshlog.output().includes('TLS certificate reloaded'), { what: 'the server to log "TLS certificate reloaded"' });
  const after = await handshake({ cert: client.cert, key: client.key });
  assert.ok(after.ok);
  assert.notEqual(after.fingerprint, before.fingerprint, 'new connections get the renewed certificate');
});

test('a plaintext listener on a non-loopback address needs allow_plaintext: true', () => {
  const refused = spawnSync(process.execPath, [cli, 'start', '--data-dir', tempDataDir(), '--host', '0.0.0.0', '--http-port', '0'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /plaintext listener on 0\.0\.0\.0 .*allow_plaintext: true/);
});
