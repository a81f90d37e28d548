import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { committedCount } from '../../support/committedCount.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import { selfSignedCert } from '../../support/selfSignedCert.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../../support/testCertificateAuthority.js';

test('OTLP/gRPC over TLS: the SDK exporter with the CA is answered; plaintext on the TLS port is refused', async () => {
  const cert = selfSignedCert();
  const configFile = join(tempDataDir('meshlog-config-'), 'meshlog.yaml');
  writeFileSync(configFile, `otlp_grpc:\n  port: 0\n  tls:\n    cert_file: ${cert.certFile}\n    key_file: ${cert.keyFile}\n`);
  const meshlog = await startMeshlog({ args: ['--config', configFile] });
  try {
    // A plaintext client on the TLS port fails its handshake without harming the listener.
    const [host, port] = [meshlog.listeners.otlp_grpc.replace(/:\d+$/, ''), Number(meshlog.listeners.otlp_grpc.split(':').pop())];
    const plaintext = connect(port, host);
    plaintext.on('error', () => undefined);
    plaintext.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await new Promise((resolve) => plaintext.once('close', resolve));

    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${meshlog.token}`);
    const exporter = new OTLPLogExporter({
      url: `https://localhost:${port}`,
      metadata,
      credentials: grpc.credentials.createSsl(cert.cert),
    });
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    provider.getLogger('tls').emit({ severityNumber: SeverityNumber.INFO, body: 'over TLS' });
    await provider.forceFlush();
    await provider.shutdown();
    assert.equal(await committedCount(meshlog, 'otlp_grpc'), 1);
  } finally {
    await meshlog.kill();
  }
});

test('OTLP/gRPC over mTLS: a mapped client certificate is the credential and decides the tenant; others are refused', async () => {
  const ca = new TestCertificateAuthority();
  const server = ca.issue('localhost', 'server');
  const clients = Object.fromEntries(['shipper-acme', 'reader-acme', 'unmapped'].map((name) => [name, ca.issue(name, 'client')])) as Record<
    string,
    IssuedCertificate
  >;
  const configFile = join(tempDataDir('meshlog-config-'), 'meshlog.yaml');
  writeFileSync(
    configFile,
    [
      'otlp_grpc:',
      '  port: 0',
      '  tls:',
      `    cert_file: ${server.certFile}`,
      `    key_file: ${server.keyFile}`,
      `    client_ca_file: ${ca.certFile}`,
      '    client_identities:',
      '      - { common_name: shipper-acme, roles: [ingester], tenants: [acme] }',
      '      - { common_name: reader-acme, roles: [analyst], tenants: [acme] }',
      '',
    ].join('\n'),
  );
  const meshlog = await startMeshlog({ args: ['--config', configFile] });
  const port = Number(meshlog.listeners.otlp_grpc!.split(':').pop());
  const credentials = (client?: IssuedCertificate) => grpc.credentials.createSsl(ca.cert, client?.key ?? null, client?.cert ?? null);
  try {
    // The real SDK exporter with a client certificate and no token.
    const exporter = new OTLPLogExporter({ url: `https://localhost:${port}`, credentials: credentials(clients['shipper-acme']) });
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    provider.getLogger('mtls').emit({ severityNumber: SeverityNumber.INFO, body: 'from the acme certificate' });
    await provider.forceFlush();
    await provider.shutdown();

    const exportWith = (client: IssuedCertificate | undefined) => {
      const grpcClient = new grpc.Client(`localhost:${port}`, credentials(client));
      return new Promise<grpc.ServiceError | null>((resolve) =>
        grpcClient.makeUnaryRequest(
          '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          Buffer.alloc(0),
          (error) => resolve(error),
        ),
      ).finally(() => grpcClient.close());
    };
    assert.equal(
      (await exportWith(clients.unmapped))?.code,
      grpc.status.UNAUTHENTICATED,
      'a certificate the CA signed but no identity maps',
    );
    assert.equal((await exportWith(clients['reader-acme']))?.code, grpc.status.PERMISSION_DENIED, 'a mapped certificate without ingest');
    assert.equal((await exportWith(undefined))?.code, grpc.status.UNAVAILABLE, 'no client certificate: the TLS handshake is refused');
    const outsider = new TestCertificateAuthority('another CA').issue('shipper-acme', 'client');
    assert.equal((await exportWith(outsider))?.code, grpc.status.UNAVAILABLE, 'a certificate of another CA, even with a mapped name');
  } finally {
    assert.equal(await meshlog.stop(), 0, meshlog.output());
  }
  const rows = await readCommitted<{ tenant: string; body: string }>(
    meshlog.dataDir,
    `SELECT tenant, body FROM meshlog.logs WHERE tenant != '_audit'`,
  );
  assert.deepEqual(rows, [{ tenant: 'acme', body: 'from the acme certificate' }]);
});
