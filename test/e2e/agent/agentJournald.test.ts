import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent, waitUntil, type RunningAgent } from '../../support/agentProcess.js';
import { startJournald } from '../../support/journaldProcess.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

async function acknowledged(agent: RunningAgent, lines: number): Promise<void> {
  await waitUntil(`${lines} journal entries are acknowledged`, async () =>
    (await agent.sources()).some((source) => source.path.endsWith('journal') && source.lines_acked === lines),
  );
}

test('journald: entries written by systemd-journald are read through journalctl, followed, and resumed after a SIGKILL from the acknowledged cursor', async () => {
  const root = tempDataDir('meshlog-agent-journald-');
  const journald = await startJournald(root, 'meshlog-test');
  const meshlog = await startMeshlog();
  const config = {
    server: meshlog.url,
    token: meshlog.token,
    data_dir: join(root, 'agent-data'),
    batch: { max_wait_ms: 50 },
    // Only our entries: journald also records its own and the kernel's.
    journald: { enabled: true, directory: journald.directory, matches: ['SYSLOG_IDENTIFIER=meshlog-test'], since: '-1h' },
  };
  let agent: RunningAgent | undefined;
  try {
    journald.write('journal-0 service started\n<3>journal-1 disk quota exceeded for /var/lib/app\njournal-2 listening on :8080\n');
    agent = await startAgent(config);
    await acknowledged(agent, 3);

    // Followed: entries written while the agent runs.
    journald.write('<4>journal-3 slow request 2300 ms\njournal-4 request served\n');
    await acknowledged(agent, 5);

    // Killed and restarted: reading resumes after the acknowledged cursor, nothing is read twice.
    await agent.kill();
    journald.write('journal-5 after the crash\njournal-6 still here\n');
    agent = await startAgent(config);
    await acknowledged(agent, 7);
    const [source] = await agent.sources();
    assert.equal(source.lines_read, 7, 'entries acknowledged before the kill are not read again');
  } finally {
    await agent?.stop();
    await meshlog.stop();
    await journald.stop();
  }

  const rows = await readCommitted<{
    body: string;
    severity: number;
    severity_text: string;
    identifier: string;
    transport: string;
    uid: string;
  }>(
    meshlog.dataDir,
    `SELECT body, severity_number AS severity, severity_text, log_attributes['journald.SYSLOG_IDENTIFIER'] AS identifier,
            log_attributes['journald._TRANSPORT'] AS transport, log_attributes['log.record.uid'] AS uid
     FROM meshlog.logs WHERE startsWith(body, 'journal-') ORDER BY body`,
  );
  assert.deepEqual(
    rows.map((row) => row.body),
    [
      'journal-0 service started',
      'journal-1 disk quota exceeded for /var/lib/app',
      'journal-2 listening on :8080',
      'journal-3 slow request 2300 ms',
      'journal-4 request served',
      'journal-5 after the crash',
      'journal-6 still here',
    ],
    'every entry once, without its priority prefix',
  );
  assert.deepEqual(
    rows.map((row) => row.severity_text),
    ['INFO', 'ERROR', 'INFO', 'WARN', 'INFO', 'INFO', 'INFO'],
    'severity from the journal PRIORITY',
  );
  assert.equal(rows[1].severity, 17);
  assert.ok(
    rows.every((row) => row.identifier === 'meshlog-test' && row.transport === 'stdout'),
    'journal fields are attributes',
  );
  assert.equal(new Set(rows.map((row) => row.uid)).size, 7, 'each entry has its own record id');
});
