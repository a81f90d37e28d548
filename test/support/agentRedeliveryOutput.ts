import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, waitUntil } from './agentProcess.js';
import { deduplicated, freePort, waitAcknowledged } from './agentRedeliveryChecks.js';
import { committedCount } from './committedCount.js';
import { startMeshlog, tempDataDir } from './meshlogProcess.js';
import { readCommitted } from './storageReader.js';

const lines = 4_000;

export type RedeliveryOutput = { type: 'loki' } | { type: 'elasticsearch'; index: string };

/**
 * (One test file per output: each restarts the server four times, which on a loaded
 * machine takes minutes, and a file has the suite's --test-timeout to itself.)
 *
 * The Loki and Elasticsearch outputs carry the agent's record id (Loki:
 * structured metadata `log_record_uid`; _bulk: the action's `_id`) and when
 * the line was read (`observed_timestamp`; `event.created`), which meshlog's
 * receivers map to `log.record.uid` and the observed time. The server is
 * SIGKILLed while the agent ships and restarted; then the agent is rolled back
 * to before any acknowledgement and sends everything again to a restarted
 * server. With no clock-skew allowance, only the carried observed time makes
 * the restarted server look the ids up in storage: every line is stored once.
 */
export async function redeliveredOnceThrough(receiver: 'loki' | 'elasticsearch', output: RedeliveryOutput): Promise<void> {
  const root = tempDataDir(`meshlog-agent-redelivery-${receiver}-`);
  mkdirSync(join(root, 'logs'));
  const path = join(root, 'logs', 'app.log');
  const dataDir = join(root, 'agent-data');
  const snapshot = join(root, 'agent-data-before-ack');
  const port = await freePort();
  const serverOptions = (dataDir?: string) => ({
    dataDir,
    args: ['--http-port', String(port)],
    env: { MESHLOG_INGEST_DEDUP_CLOCK_SKEW_MS: '0' },
  });
  let meshlog = await startMeshlog(serverOptions());
  const token = meshlog.token;
  await meshlog.stop();
  const config = {
    server: `http://127.0.0.1:${port}`,
    token,
    data_dir: dataDir,
    poll_interval_ms: 50,
    files: [{ paths: [path], labels: { 'service.name': `shop-${receiver}` } }],
    batch: { max_wait_ms: 50, max_records: 250 },
    delivery: { max_in_flight: 2, retry_initial_ms: 50, retry_max_ms: 400 },
    output,
  };
  let text = '';
  for (let i = 0; i < lines; i++) text += `${receiver}-redelivery-${String(i).padStart(5, '0')} order ${i} shipped\n`;
  appendFileSync(path, text);

  // Everything read into the buffer while the server is down, the state copied before any acknowledgement.
  let agent = await startAgent(config);
  await waitUntil('every line is read', async () => (await agent.sources())[0]?.read_offset === statSync(path).size);
  assert.equal(await agent.stop(), 0);
  cpSync(dataDir, snapshot, { recursive: true });

  try {
    meshlog = await startMeshlog(serverOptions(meshlog.dataDir));
    agent = await startAgent(config);
    await waitUntil('the server committed some batches', async () => (await committedCount(meshlog, receiver)) > 0);
    await meshlog.kill();
    meshlog = await startMeshlog(serverOptions(meshlog.dataDir));
    await waitAcknowledged(agent, path);
    await agent.stop();

    // Every batch once more, to a server whose memory is empty: the ids are found in storage.
    await meshlog.kill();
    meshlog = await startMeshlog(serverOptions(meshlog.dataDir));
    rmSync(dataDir, { recursive: true });
    cpSync(snapshot, dataDir, { recursive: true });
    agent = await startAgent(config);
    await waitAcknowledged(agent, path);
    await agent.stop();
    assert.equal(await deduplicated(meshlog), lines, 'the restarted server dropped every re-sent line');
  } finally {
    await agent.stop();
    await meshlog.stop();
  }
  const rows = await readCommitted<{ body: string; copies: string; uid: string }>(
    meshlog.dataDir,
    `SELECT body, toString(count()) AS copies, any(log_attributes['log.record.uid']) AS uid FROM meshlog.logs WHERE startsWith(body, '${receiver}-redelivery-') GROUP BY body`,
  );
  assert.equal(rows.length, lines, 'every line arrives');
  assert.deepEqual(
    rows.filter((row) => row.copies !== '1'),
    [],
    'no line is stored twice',
  );
  assert.match(rows[0].uid, receiver === 'loki' ? /^[0-9a-f]{16}-\d+$/ : /^agent-logs\/[0-9a-f]{16}-\d+$/);
}
