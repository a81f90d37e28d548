import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FluentClient } from '@fluent-org/logger';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { selfSignedCert, type SelfSignedCert } from '../../support/selfSignedCert.js';
import { readCommitted } from '../../support/storageReader.js';

const sharedKey = 'forward-shared-key-for-tests';
let meshlog: RunningMeshlog;
let cert: SelfSignedCert;
let port: number;

before(async () => {
  cert = selfSignedCert();
  const configFile = join(tempDataDir('meshlog-config-'), 'meshlog.yaml');
  writeFileSync(
    configFile,
    `forward:\n  port: 0\n  shared_key: ${sharedKey}\n  tenant: edge\n  tls:\n    cert_file: ${cert.certFile}\n    key_file: ${cert.keyFile}\n`,
  );
  meshlog = await startMeshlog({ args: ['--config', configFile] });
  port = Number(meshlog.listeners.forward.split(':').pop());
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

function client(key: string): FluentClient {
  return new FluentClient('secure', {
    socket: { host: '127.0.0.1', port, tls: { ca: cert.cert, servername: 'localhost' }, disableReconnect: true },
    security: { clientHostname: 'fluent-bit.node-1', sharedKey: key },
    ack: { ackTimeout: 20_000 },
  });
}

test('over TLS with the shared-key handshake: the right key is acknowledged, a wrong key is refused', async () => {
  const wrong = client('not-the-shared-key');
  await wrong.connect();
  // The client keeps the event queued while the handshake is refused; only the server's verdict is observable.
  void wrong.emit('refused', { log: 'must not be stored' }).catch(() => undefined);
  while (!meshlog.output().includes('shared_key mismatch')) await new Promise((resolve) => setTimeout(resolve, 20));
  await wrong.disconnect();

  const right = client(sharedKey);
  await right.connect();
  await right.emit('accepted', { log: 'handshake passed over TLS', level: 'info' });
  await right.disconnect();
});

test('only the authenticated client stored records', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<{ body: string; tenant: string; log_attributes: Record<string, string> }>(
    meshlog.dataDir,
    'SELECT body, tenant, log_attributes FROM meshlog.logs',
  );
  assert.deepEqual(rows, [
    {
      body: 'handshake passed over TLS',
      tenant: 'edge',
      log_attributes: { 'fluent.tag': 'secure.accepted', 'meshlog.parse_status': 'no_format' },
    },
  ]);
});
