import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { test } from 'node:test';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { TestCertificateAuthority } from '../../support/testCertificateAuthority.js';
import { waitFor } from '../../support/waitFor.js';

/** The fingerprint of the certificate a listener presents to a new connection. */
function presented(address: string, ca: Buffer, alpn?: string[]): Promise<string> {
  const [host, port] = address.split(/:(?=\d+$)/);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(port), ca, servername: 'localhost', ALPNProtocols: alpn }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** The error of a handshake offering only `version`, or undefined when the listener accepted it. */
function oldHandshake(address: string, ca: Buffer, version: 'TLSv1' | 'TLSv1.1', alpn?: string[]): Promise<string | undefined> {
  const [host, port] = address.split(/:(?=\d+$)/);
  return new Promise((resolve) => {
    const socket = tls.connect(
      {
        host,
        port: Number(port),
        ca,
        servername: 'localhost',
        ALPNProtocols: alpn,
        minVersion: version,
        maxVersion: version,
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      () => {
        socket.destroy();
        resolve(undefined);
      },
    );
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function assertOldTlsRefused(
  listeners: Record<string, string>,
  ca: Buffer,
  alpns: Record<string, string[] | undefined>,
): Promise<void> {
  for (const [name, address] of Object.entries(listeners)) {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      assert.match(
        (await oldHandshake(address, ca, version, alpns[name])) ?? 'accepted',
        /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|VERSION/i,
        `${name} refuses ${version}`,
      );
    }
  }
}

test('every TLS listener (forward, syslog TLS, OTLP/gRPC) refuses TLS 1.0/1.1, and SIGHUP reloads its certificate without a restart, audited, still TLS 1.2+', async () => {
  const ca = new TestCertificateAuthority();
  const dir = tempDataDir('meshlog-tls-reload-');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  const first = ca.issue('localhost', 'server', 'first');
  copyFileSync(first.certFile, certFile);
  copyFileSync(first.keyFile, keyFile);
  const tlsSection = ['  tls:', `    cert_file: ${certFile}`, `    key_file: ${keyFile}`];
  const configFile = join(dir, 'meshlog.yaml');
  writeFileSync(configFile, ['forward:', ...tlsSection, 'syslog:', ...tlsSection, 'otlp_grpc:', '  port: 0', ...tlsSection, ''].join('\n'));
  const meshlog = await startMeshlog({ args: ['--config', configFile] });
  try {
    const listeners = { forward: undefined, syslog_tls: undefined, otlp_grpc: ['h2'] } as Record<string, string[] | undefined>;
    const before: Record<string, string> = {};
    for (const [name, alpn] of Object.entries(listeners)) before[name] = await presented(meshlog.listeners[name]!, ca.cert, alpn);
    const addresses = Object.fromEntries(Object.keys(listeners).map((name) => [name, meshlog.listeners[name]!]));
    await assertOldTlsRefused(addresses, ca.cert, listeners);

    const renewed = ca.issue('localhost', 'server', 'renewed');
    copyFileSync(renewed.certFile, certFile);
    copyFileSync(renewed.keyFile, keyFile);
    meshlog.process.kill('SIGHUP');
    const reloaded = () => (meshlog.output().match(/TLS certificate reloaded/g) ?? []).length;
    await waitFor(() => reloaded() >= 3, { what: 'three listeners to log "TLS certificate reloaded"' });

    for (const [name, alpn] of Object.entries(listeners)) {
      const after = await presented(meshlog.listeners[name]!, ca.cert, alpn);
      assert.notEqual(after, before[name], `${name} presents the renewed certificate`);
    }
    await assertOldTlsRefused(addresses, ca.cert, listeners);
    const audit = await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=config.tls_reload`, {
      headers: { authorization: `Bearer ${meshlog.token}` },
    });
    const events = ((await audit.json()) as { events: { target: string; outcome: string }[] }).events;
    assert.deepEqual(events.map((event) => `${event.target} ${event.outcome}`).sort(), [
      'forward success',
      'otlp_grpc success',
      'syslog_tls success',
    ]);
  } finally {
    assert.equal(await meshlog.stop(), 0, meshlog.output());
  }
});
