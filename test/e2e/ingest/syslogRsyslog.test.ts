import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitForCommitted } from '../../support/committedCount.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { selfSignedCert } from '../../support/selfSignedCert.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

const lines = ['order 1001 placed', 'order 1002 placed', 'payment for order 1001 declined'];
let meshlog: RunningMeshlog;
let rsyslog: ChildProcess | undefined;
let rsyslogOutput = '';

before(async () => {
  const cert = selfSignedCert();
  const dir = tempDataDir('meshlog-rsyslog-');
  const configFile = join(dir, 'meshlog.yaml');
  writeFileSync(configFile, `syslog:\n  tls_port: 0\n  tls:\n    cert_file: ${cert.certFile}\n    key_file: ${cert.keyFile}\n`);
  meshlog = await startMeshlog({ args: ['--config', configFile] });

  // rsyslog reads an application's log file (imfile) and forwards every line
  // twice: RFC 5424 over plain TCP with octet counting, and its traditional
  // format over TLS (gtls driver, server certificate checked by name).
  const logFile = join(dir, 'app.log');
  writeFileSync(logFile, `${lines.join('\n')}\n`);
  mkdirSync(join(dir, 'work'));
  const port = (name: string) => meshlog.listeners[name].split(':').pop();
  const rsyslogConfig = join(dir, 'rsyslog.conf');
  writeFileSync(
    rsyslogConfig,
    `global(workDirectory="${dir}/work" defaultNetstreamDriverCAFile="${cert.certFile}")
module(load="imfile")
input(type="imfile" file="${logFile}" tag="checkout:" facility="local2" severity="warning" ruleset="toMeshlog")
ruleset(name="toMeshlog") {
  action(type="omfwd" target="127.0.0.1" port="${port('syslog_tcp')}" protocol="tcp" tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="${port('syslog_tls')}" protocol="tcp" template="RSYSLOG_ForwardFormat"
         streamDriver="gtls" streamDriverMode="1" streamDriverAuthMode="x509/name" streamDriverPermittedPeers="localhost")
}
`,
  );
  rsyslog = spawn('rsyslogd', ['-n', '-f', rsyslogConfig, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  rsyslog.stdout!.on('data', (chunk: Buffer) => (rsyslogOutput += chunk.toString()));
  rsyslog.stderr!.on('data', (chunk: Buffer) => (rsyslogOutput += chunk.toString()));
});

after(async () => {
  if (rsyslog && rsyslog.exitCode === null) {
    rsyslog.kill('SIGTERM');
    await new Promise((resolve) => rsyslog!.once('exit', resolve));
  }
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

test('rsyslog forwards over TCP (octet-counted RFC 5424) and TLS (gtls), and meshlog stores both', async () => {
  // Plaintext on the TLS port fails its handshake and harms nobody else.
  const plaintext = connect(Number(meshlog.listeners.syslog_tls.split(':').pop()), '127.0.0.1');
  plaintext.on('error', () => undefined);
  plaintext.write('<13>1 - - - - - - plaintext on the TLS port\n');
  await new Promise((resolve) => plaintext.once('close', resolve));

  await waitForCommitted(meshlog, 'syslog_tcp', lines.length);
  await waitForCommitted(meshlog, 'syslog_tls', lines.length);
  assert.equal(await meshlog.stop(), 0, `${meshlog.output()}\nrsyslog: ${rsyslogOutput}`);

  const rows = await readCommitted<StoredRow>(meshlog.dataDir, 'SELECT * FROM meshlog.logs ORDER BY receiver, body');
  for (const receiver of ['syslog_tcp', 'syslog_tls']) {
    const mine = rows.filter((row) => row.receiver === receiver);
    assert.deepEqual(mine.map((row) => row.body).sort(), [...lines].sort(), receiver);
    for (const row of mine) {
      assert.equal(row.service_name, 'checkout');
      assert.equal(row.severity_text, 'warning');
      assert.equal(row.log_attributes['syslog.facility'], 'local2');
      assert.equal(row.log_attributes['syslog.parse_error'], undefined);
      assert.ok(row.resource_attributes['host.name']);
    }
  }
  assert.equal(rows.filter((row) => row.receiver === 'syslog_tcp')[0].log_attributes['syslog.version'], '1', 'RFC 5424 over TCP');
  assert.equal(rows.length, lines.length * 2, 'nothing from the plaintext connection');
  assert.match(meshlog.output(), /TLS handshake failed/);
});
