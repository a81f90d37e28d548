import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { FluentClient } from '@fluent-org/logger';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../../support/testCertificateAuthority.js';
import { waitFor } from '../../support/waitFor.js';

let meshlog: RunningMeshlog;
let ca: TestCertificateAuthority;
const clients: Record<string, IssuedCertificate> = {};

function hostPort(address: string): { host: string; port: number } {
  const [host, port] = address.split(/:(?=\d+$)/);
  return { host: host!.replace(/^\[|\]$/g, ''), port: Number(port) };
}

before(async () => {
  ca = new TestCertificateAuthority();
  const server = ca.issue('localhost', 'server');
  for (const name of ['shipper-acme', 'shipper-any', 'reader-acme', 'unmapped']) clients[name] = ca.issue(name, 'client');
  const tlsSection = [
    `    cert_file: ${server.certFile}`,
    `    key_file: ${server.keyFile}`,
    `    client_ca_file: ${ca.certFile}`,
    '    client_identities:',
    '      - { common_name: shipper-acme, roles: [ingester], tenants: [acme] }',
    "      - { common_name: shipper-any, roles: [ingester], tenants: ['*'] }",
    '      - { common_name: reader-acme, roles: [analyst], tenants: [acme] }',
  ];
  const configFile = join(tempDataDir('meshlog-tcp-mtls-'), 'meshlog.yaml');
  writeFileSync(
    configFile,
    ['forward:', '  tenant: edge', '  tls:', ...tlsSection, 'syslog:', '  tenant: edge', '  tls:', ...tlsSection, ''].join('\n'),
  );
  meshlog = await startMeshlog({ args: ['--config', configFile] });
});

after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

function forwardClient(certificate: IssuedCertificate): FluentClient {
  const { host, port } = hostPort(meshlog.listeners.forward!);
  return new FluentClient('mtls', {
    socket: {
      host,
      port,
      tls: { ca: ca.cert, cert: certificate.cert, key: certificate.key, servername: 'localhost' },
      disableReconnect: true,
    },
    ack: { ackTimeout: 20_000 },
  });
}

/** Connects with a client certificate, sends `payload`, and resolves once the server has closed the connection or answered. */
function tlsExchange(
  address: string,
  certificate: IssuedCertificate,
  payload: string,
  closeAfterSend: boolean,
): Promise<{ closedByServer: boolean }> {
  const { host, port } = hostPort(address);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca: ca.cert, cert: certificate.cert, key: certificate.key, servername: 'localhost' }, () => {
      socket.write(payload);
      if (closeAfterSend) socket.end();
    });
    let ended = false;
    socket.on('error', () => undefined);
    socket.on('end', () => (ended = true));
    socket.once('close', () => resolve({ closedByServer: ended || !closeAfterSend }));
    setTimeout(() => reject(new Error('the connection stayed open')), 20_000).unref();
  });
}

test('forward over mTLS: the certificate is the credential and decides the tenant', async () => {
  for (const [name, body] of [
    ['shipper-acme', 'forward from the acme certificate'],
    ['shipper-any', 'forward from the wildcard certificate'],
  ] as const) {
    const client = forwardClient(clients[name]!);
    await client.connect();
    await client.emit('event', { log: body });
    await client.disconnect();
  }
  // A certificate the CA signed but no identity maps, and one without ingest, are disconnected before anything is read.
  for (const name of ['unmapped', 'reader-acme']) {
    const { closedByServer } = await tlsExchange(meshlog.listeners.forward!, clients[name]!, '', false);
    assert.ok(closedByServer, name);
  }
  // The refusal is logged by the server process; its line can reach us after the connection closed.
  for (const reason of [/not one of tls\.client_identities/, /ingest needs one of the roles/]) {
    await waitFor(() => reason.test(meshlog.output()), { what: `the server to log ${reason}` });
  }
});

test('syslog over mTLS: the same mapping; refused certificates store nothing', async () => {
  const line = (text: string) => `<13>1 2026-11-25T15:00:00Z host app - - - ${text}\n`;
  await tlsExchange(meshlog.listeners.syslog_tls!, clients['shipper-acme']!, line('syslog from the acme certificate'), true);
  await tlsExchange(meshlog.listeners.syslog_tls!, clients['reader-acme']!, line('syslog from a reader, refused'), true);
  await tlsExchange(meshlog.listeners.syslog_tls!, clients.unmapped!, line('syslog from an unmapped certificate, refused'), true);

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<{ tenant: string; body: string }>(
    meshlog.dataDir,
    `SELECT tenant, body FROM meshlog.logs ORDER BY body`,
  );
  assert.deepEqual(rows, [
    { tenant: 'acme', body: 'forward from the acme certificate' },
    { tenant: 'edge', body: 'forward from the wildcard certificate' },
    { tenant: 'acme', body: 'syslog from the acme certificate' },
  ]);
});
