import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent, waitUntil } from '../../support/agentProcess.js';
import { deduplicated, freePort, waitAcknowledged } from '../../support/agentRedeliveryChecks.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

/**
 * The agent's state is rolled back to before the server acknowledged its
 * batches (a checkpoint lost with the node's disk, or a crash between commit
 * and checkpoint, made certain instead of timed): every batch is sent again,
 * once to the same server (ids still in memory) and once to a restarted one
 * (ids looked up in storage). Each line is stored exactly once.
 */
test('an agent SIGKILLed and restarted from state older than its acknowledgements: every line stored exactly once', async () => {
  const root = tempDataDir('meshlog-agent-redelivery-');
  mkdirSync(join(root, 'logs'));
  const path = join(root, 'logs', 'app.log');
  const dataDir = join(root, 'agent-data');
  const snapshot = join(root, 'agent-data-before-ack');
  const port = await freePort();
  let meshlog = await startMeshlog({ args: ['--http-port', String(port)] });
  const token = meshlog.token;
  await meshlog.stop();
  const config = {
    server: `http://127.0.0.1:${port}`,
    token,
    data_dir: dataDir,
    poll_interval_ms: 50,
    files: [{ paths: [join(root, 'logs', '*.log')] }],
    batch: { max_wait_ms: 50, max_records: 500 },
    delivery: { max_in_flight: 2, retry_initial_ms: 50, retry_max_ms: 400 },
  };
  let text = '';
  for (let i = 0; i < 5_000; i++) text += `redelivery-${String(i).padStart(5, '0')} payment accepted for order ${i}\n`;
  appendFileSync(path, text);

  // Read into the disk buffer while the server is down (a stop seals what was read); the state is copied as it is.
  let agent = await startAgent(config);
  await waitUntil('every line is read', async () => (await agent.sources())[0]?.read_offset === statSync(path).size);
  assert.equal(await agent.stop(), 0);
  cpSync(dataDir, snapshot, { recursive: true });
  assert.ok(readdirSync(join(snapshot, 'buffer')).length > 0, 'the batches wait in the buffer');

  try {
    meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: ['--http-port', String(port)] });
    agent = await startAgent(config);
    await waitAcknowledged(agent, path);
    await agent.kill();
    rmSync(dataDir, { recursive: true });
    cpSync(snapshot, dataDir, { recursive: true });
    agent = await startAgent(config);
    await waitAcknowledged(agent, path);
    await agent.stop();
    assert.equal(await deduplicated(meshlog), 5_000, 'the same server dropped every re-sent line (ids in memory)');

    // Once more against a restarted server: its memory is empty, the ids are found in storage.
    await meshlog.stop();
    meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: ['--http-port', String(port)] });
    rmSync(dataDir, { recursive: true });
    cpSync(snapshot, dataDir, { recursive: true });
    agent = await startAgent(config);
    await waitAcknowledged(agent, path);
    await agent.stop();
    assert.equal(await deduplicated(meshlog), 5_000, 'the restarted server dropped every re-sent line (ids from storage)');
  } finally {
    await agent.stop();
    await meshlog.stop();
  }
  const rows = await readCommitted<{ body: string; copies: string }>(
    meshlog.dataDir,
    `SELECT body, toString(count()) AS copies FROM meshlog.logs WHERE startsWith(body, 'redelivery-') GROUP BY body`,
  );
  assert.equal(rows.length, 5_000, 'every line arrives');
  assert.deepEqual(
    rows.filter((row) => row.copies !== '1'),
    [],
    'no line is stored twice',
  );
});
