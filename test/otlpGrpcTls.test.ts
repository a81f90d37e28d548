import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import grpc from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { committedCount } from './support/committedCount.js';
import { startMeshlog, tempDataDir } from './support/meshlogProcess.js';
import { selfSignedCert } from './support/selfSignedCert.js';

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
    const exporter = new OTLPLogExporter({ url: `https://localhost:${port}`, metadata, credentials: grpc.credentials.createSsl(cert.cert) });
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    provider.getLogger('tls').emit({ severityNumber: SeverityNumber.INFO, body: 'over TLS' });
    await provider.forceFlush();
    await provider.shutdown();
    assert.equal(await committedCount(meshlog, 'otlp_grpc'), 1);
  } finally {
    await meshlog.kill();
  }
});
