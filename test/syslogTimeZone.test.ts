import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { waitForCommitted } from './support/committedCount.js';
import { startMeshlog } from './support/meshlogProcess.js';
import { readCommitted } from './support/storageReader.js';

test('senders on Indian Standard Time: logger --rfc3164 (local time, no zone) is stored at the true instant with syslog.timezone, RFC 5424 by its own offset', async () => {
  const meshlog = await startMeshlog({ env: { MESHLOG_SYSLOG_TIMEZONE: 'Asia/Kolkata' } });
  try {
    const port = meshlog.listeners.syslog_tcp.split(':').pop()!;
    const sentAtMs = Date.now();
    // util-linux logger writes the RFC 3164 timestamp in the local time of its TZ, as rsyslog's traditional format does.
    for (const [format, body] of [['--rfc3164', 'kolkata rfc3164'], ['--rfc5424', 'kolkata rfc5424']]) {
      execFileSync('logger', ['--server', '127.0.0.1', '--port', port, '--tcp', format, '-t', 'billing', body], { env: { ...process.env, TZ: 'Asia/Kolkata' } });
    }
    await waitForCommitted(meshlog, 'syslog_tcp', 2);
    assert.equal(await meshlog.stop(), 0, meshlog.output());
    const rows = await readCommitted<{ body: string; ms: string }>(meshlog.dataDir, "SELECT body, toString(toUnixTimestamp64Milli(timestamp)) AS ms FROM meshlog.logs WHERE service_name = 'billing'");
    assert.equal(rows.length, 2, JSON.stringify(rows));
    for (const row of rows) {
      // Seconds apart at most, however busy the machine; read as UTC, the 3164 line would be 5 h 30 min in the future.
      const skewMs = Number(row.ms) - sentAtMs;
      assert.ok(Math.abs(skewMs) < 10 * 60_000, `${row.body}: stored ${new Date(Number(row.ms)).toISOString()}, sent ${new Date(sentAtMs).toISOString()}`);
    }
  } finally {
    if (meshlog.process.exitCode === null) await meshlog.kill();
  }
});
