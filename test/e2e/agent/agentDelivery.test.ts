import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent, waitUntil, type AgentSource, type RunningAgent } from '../../support/agentProcess.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import { fillDisk, mountTmpfs } from '../../support/tmpfs.js';

const maxRecords = 500;
const maxInFlight = 2;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function writeLines(path: string, prefix: string, from: number, to: number): void {
  let text = '';
  for (let i = from; i < to; i++) text += `${prefix}-${String(i).padStart(6, '0')} some payload to make the line look like a log line\n`;
  appendFileSync(path, text);
}

function agentConfig(root: string, server: string, token: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server,
    token,
    data_dir: join(root, 'agent-data'),
    poll_interval_ms: 50,
    files: [{ paths: [join(root, 'logs', '*.log')] }],
    batch: { max_wait_ms: 50, max_records: maxRecords },
    delivery: { max_in_flight: maxInFlight, retry_initial_ms: 50, retry_max_ms: 400 },
    ...extra,
  };
}

/**
 * Waits until the agent acknowledged the whole file. The deadline bounds a stall, not the delivery: it
 * restarts whenever the acknowledged offset moves, so a loaded machine delivering 100,000 lines slowly
 * passes and an agent that stopped delivering fails within a minute.
 */
async function waitAcknowledged(agent: RunningAgent, path: string): Promise<void> {
  const stallMs = 60_000;
  let acked = -1;
  let movedAt = Date.now();
  for (;;) {
    const source = (await agent.sources()).find((candidate) => candidate.path === path);
    if (source?.active && source.acked_offset === statSync(path).size) return;
    if (source && source.acked_offset !== acked) {
      acked = source.acked_offset;
      movedAt = Date.now();
    }
    if (Date.now() - movedAt > stallMs)
      throw new Error(`${path}: the acknowledged offset stayed at ${acked} of ${statSync(path).size} bytes for ${stallMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Every expected line is stored exactly once: a batch re-sent because its
 * acknowledgement was lost carries the same record ids (log.record.uid), and
 * the server drops the copies.
 */
async function assertDeliveredOnce(dataDir: string, prefix: string, count: number): Promise<void> {
  const rows = await readCommitted<{ body: string; uid: string }>(
    dataDir,
    `SELECT body, log_attributes['log.record.uid'] AS uid FROM meshlog.logs WHERE startsWith(body, '${prefix}-')`,
  );
  assert.equal(new Set(rows.map((row) => row.body)).size, count, 'every line written arrives');
  assert.equal(new Set(rows.map((row) => row.uid)).size, count, 'one record id per line');
  assert.equal(rows.length, count, `no line is stored twice (${rows.length - count} copies)`);
}

async function serverMetric(meshlog: RunningMeshlog, name: string): Promise<number> {
  const text = await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text();
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(match[1]);
  return sum;
}

test('the server stopped and restarted: the agent buffers on disk up to its cap, stops reading, then delivers everything', async () => {
  const root = tempDataDir('meshlog-agent-outage-');
  mkdirSync(join(root, 'logs'));
  const path = join(root, 'logs', 'app.log');
  const port = await freePort();
  let meshlog = await startMeshlog({ args: ['--http-port', String(port)] });
  const cap = 128 * 1024;
  const agent = await startAgent(
    agentConfig(root, `http://127.0.0.1:${port}`, meshlog.token, { buffer: { max_bytes: cap, segment_bytes: 16 * 1024 } }),
  );
  try {
    writeLines(path, 'outage', 0, 2_000);
    await waitAcknowledged(agent, path);

    await meshlog.stop();
    writeLines(path, 'outage', 2_000, 100_000);
    await waitUntil('the buffer is full', async () => (await agent.metric('meshlog_agent_buffered_bytes')) >= cap);
    assert.ok((await agent.metric('meshlog_agent_batches_retried_total')) > 0, 'sends were retried');
    const [source] = await agent.sources();
    assert.ok(source.lines_read < 100_000, `backpressure: reading stopped at ${source.lines_read} lines`);
    assert.ok((await agent.metric('meshlog_agent_buffered_bytes')) < cap + 64 * 1024, 'the buffer stays near its cap');

    meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: ['--http-port', String(port)] });
    writeLines(path, 'outage', 100_000, 101_000);
    await waitAcknowledged(agent, path);
    const [after] = await agent.sources();
    assert.equal(after.lines_acked, 101_000);
  } finally {
    assert.equal(await agent.stop(), 0);
    await meshlog.stop();
  }
  await assertDeliveredOnce(meshlog.dataDir, 'outage', 101_000);
});

test("the agent's own disk full: batches and checkpoints are retried, not skipped, and every line arrives once space frees", async () => {
  const root = tempDataDir('meshlog-agent-full-');
  mkdirSync(join(root, 'logs'));
  const path = join(root, 'logs', 'app.log');
  const port = await freePort();
  let meshlog = await startMeshlog({ args: ['--http-port', String(port)] });
  const disk = mountTmpfs(4);
  const agent = await startAgent({
    ...agentConfig(root, `http://127.0.0.1:${port}`, meshlog.token),
    data_dir: join(disk.dir, 'agent-data'),
  });
  try {
    writeLines(path, 'full', 0, 1_000);
    await waitAcknowledged(agent, path);
    // Batches buffered while the server is down, then the disk fills: new batches cannot be buffered, and once
    // the server is back the acknowledgements of the buffered ones cannot be checkpointed.
    await meshlog.stop();
    writeLines(path, 'full', 1_000, 3_000);
    await waitUntil('the lines are buffered', async () => (await agent.sources())[0]?.read_offset === statSync(path).size);
    const filler = join(disk.dir, 'filler');
    assert.ok(fillDisk(filler) > 0);
    writeLines(path, 'full', 3_000, 6_000);
    await waitUntil(
      'a batch failed to reach the full buffer',
      async () => (await agent.metric('meshlog_agent_buffer_append_failures_total')) > 0,
    );
    // Whatever the failed appends gave back (a partial frame cut off) is taken again: the checkpoint must find no room.
    const topUp = join(disk.dir, 'filler-top-up');
    fillDisk(topUp);
    meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: ['--http-port', String(port)] });
    await waitUntil(
      'an acknowledgement failed to reach the checkpoint file',
      async () => (await agent.metric('meshlog_agent_checkpoint_failures_total')) > 0,
    );
    rmSync(filler);
    rmSync(topUp);
    writeLines(path, 'full', 6_000, 7_000);
    await waitAcknowledged(agent, path);
    const [source] = await agent.sources();
    assert.equal(source.lines_acked, 7_000, 'the agent counts every line acknowledged');
  } finally {
    assert.equal(await agent.stop(), 0, 'the agent survived its full disk and stops cleanly');
    await meshlog.stop();
    disk.unmount();
  }
  await assertDeliveredOnce(meshlog.dataDir, 'full', 7_000);
});

test('the agent SIGKILLed mid-stream and restarted, and its buffer kept across a restart while the server is down', async () => {
  const root = tempDataDir('meshlog-agent-kill-');
  mkdirSync(join(root, 'logs'));
  const path = join(root, 'logs', 'app.log');
  const port = await freePort();
  let meshlog = await startMeshlog({ args: ['--http-port', String(port)] });
  const config = agentConfig(root, `http://127.0.0.1:${port}`, meshlog.token);
  let agent = await startAgent(config);
  let sources: AgentSource[] = [];
  try {
    writeLines(path, 'kill', 0, 60_000);
    await waitUntil('shipping is under way', async () => (await agent.metric('meshlog_agent_lines_shipped_total')) > 5_000);
    await agent.kill();
    writeLines(path, 'kill', 60_000, 70_000);
    agent = await startAgent(config);
    await waitAcknowledged(agent, path);

    // Lines read into the buffer while the server is down survive the agent's death and are not read twice.
    await meshlog.stop();
    writeLines(path, 'kill', 70_000, 75_000);
    await waitUntil('the new lines are buffered', async () => (await agent.sources())[0]?.read_offset === statSync(path).size);
    await agent.kill();
    meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: ['--http-port', String(port)] });
    agent = await startAgent(config);
    assert.match(agent.output(), /"buffered_batches":[1-9]/);
    await waitAcknowledged(agent, path);
    sources = await agent.sources();
  } finally {
    await agent.stop();
    await meshlog.stop();
  }
  // Each kill may re-send the batches that were in flight; the server keeps one copy.
  await assertDeliveredOnce(meshlog.dataDir, 'kill', 75_000);
  assert.ok(sources[0].lines_acked >= 75_000, `lines acknowledged over the restarts: ${JSON.stringify(sources)}`);
});

test('the network cut mid-batch, before and after the server answered: batches are re-sent and every line arrives', async () => {
  const root = tempDataDir('meshlog-agent-netcut-');
  mkdirSync(join(root, 'logs'));
  const path = join(root, 'logs', 'app.log');
  const meshlog = await startMeshlog();
  const target = new URL(meshlog.url);
  // A TCP proxy that cuts the first two connections while the request is being sent, the next two when the answer comes back.
  let cuts = 0;
  const proxy = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    let sent = 0;
    const cut = () => {
      cuts++;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (cuts < 2 && sent > 4096) cut();
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cuts >= 2 && cuts < 4) cut();
      else client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => (socket === client ? upstream : client).destroy());
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  const agent = await startAgent(agentConfig(root, `http://127.0.0.1:${port}`, meshlog.token));
  try {
    writeLines(path, 'netcut', 0, 20_000);
    await waitAcknowledged(agent, path);
    assert.equal(cuts, 4);
    assert.ok((await agent.metric('meshlog_agent_batches_retried_total')) >= 4);
    // The batches whose answers were cut had been committed: their re-sent copies were dropped.
    assert.ok((await serverMetric(meshlog, 'meshlog_records_deduplicated_total')) > 0, 'the server dropped redelivered records');
  } finally {
    await agent.stop();
    proxy.close();
    await meshlog.stop();
  }
  await assertDeliveredOnce(meshlog.dataDir, 'netcut', 20_000);
});
