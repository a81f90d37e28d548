import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMeshlog } from '../../support/meshlogProcess.js';

test('--no-<listener> turns a listener off and --<listener>-port moves it', async () => {
  const meshlog = await startMeshlog({ args: ['--no-forward', '--no-syslog', '--otlp-grpc-port', '0'] });
  try {
    assert.deepEqual(Object.keys(meshlog.listeners), ['otlp_grpc']);
    assert.match(meshlog.listeners.otlp_grpc, /^127\.0\.0\.1:\d+$/);
  } finally {
    await meshlog.kill();
  }
  const everything = await startMeshlog({ args: ['--syslog-port', '0', '--forward-port', '0'] });
  try {
    assert.deepEqual(Object.keys(everything.listeners).sort(), ['forward', 'otlp_grpc', 'syslog_tcp', 'syslog_udp']);
  } finally {
    await everything.kill();
  }
});
