import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startAgent, waitUntil, type RunningAgent } from '../../support/agentProcess.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

// One server and one agent tail every scenario's folder; each scenario adds the lines it expects to arrive exactly once.
const root = tempDataDir('meshlog-agent-files-');
const logs = join(root, 'logs');
const pods = join(root, 'pods');
const expected = new Map<string, number>();
let meshlog: RunningMeshlog;
let agent: RunningAgent;

function lines(prefix: string, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) {
    text += `${prefix}-${i}\n`;
    expected.set(`${prefix}-${i}`, 1);
  }
  return text;
}

function folder(name: string): string {
  const dir = join(logs, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function sourceOf(path: string) {
  return (await agent.sources()).find((source) => source.path === path && source.active);
}

/** Every byte of the file was read and acknowledged by the server. */
async function waitAcknowledged(path: string): Promise<void> {
  await waitUntil(`${path} is acknowledged`, async () => {
    const source = await sourceOf(path);
    return source !== undefined && source.acked_offset === statSync(path).size;
  });
}

before(async () => {
  mkdirSync(logs, { recursive: true });
  mkdirSync(pods, { recursive: true });
  meshlog = await startMeshlog();
  agent = await startAgent({
    server: meshlog.url,
    token: meshlog.token,
    data_dir: join(root, 'agent-data'),
    poll_interval_ms: 50,
    rotate_wait_ms: 500,
    batch: { max_wait_ms: 50 },
    files: [
      { paths: [`${logs}/*/*.log`] },
      { paths: [`${root}/docker/*/*-json.log`], format: 'container', labels: { 'container.runtime': 'docker' } },
    ],
    kubernetes: { enabled: true, pods_dir: pods, node_name: 'node-1' },
  });
});

after(async () => {
  await agent?.kill();
  await meshlog?.kill();
});

test('rotation by rename: the old file is read to its end, late writes through the old descriptor included, and the new file from its start', async () => {
  const path = join(folder('rename'), 'app.log');
  writeFileSync(path, lines('rename-a', 500));
  await waitAcknowledged(path);
  const writer = openSync(path, 'a');
  renameSync(path, `${path}.1`);
  writeSync(writer, lines('rename-b', 100));
  closeSync(writer);
  writeFileSync(path, lines('rename-c', 200));
  await waitAcknowledged(path);
});

test('copytruncate: lines written after the truncation are read from offset 0', async () => {
  const path = join(folder('copytruncate'), 'app.log');
  writeFileSync(path, lines('copytruncate-a', 300));
  await waitAcknowledged(path);
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  appendFileSync(path, lines('copytruncate-b', 50));
  await waitAcknowledged(path);
});

test('copytruncate of a file that always starts with the same header: the new generation gets its own record ids', async () => {
  const path = join(folder('same-header'), 'app.log');
  const header = `same-header ${'h'.repeat(300)}`;
  expected.set(header, 2);
  writeFileSync(path, `${header}\n${lines('same-header-day1', 5)}`);
  await waitAcknowledged(path);
  truncateSync(path, 0);
  appendFileSync(path, `${header}\n${lines('same-header-day2', 3)}`);
  await waitUntil('the second generation is acknowledged', async () =>
    (await agent.sources()).some((source) => source.path === path && source.lines_acked === 4),
  );
});

test('truncation and rewrite past the old size is recognised by the fingerprint', async () => {
  const path = join(folder('rewrite'), 'app.log');
  writeFileSync(path, lines('rewrite-a', 20));
  await waitAcknowledged(path);
  writeFileSync(path, lines('rewrite-b-longer-lines-than-before', 400));
  await waitAcknowledged(path);
});

test('a file deleted while being read and written is read to its end', async () => {
  const path = join(folder('deleted'), 'app.log');
  const writer = openSync(path, 'a');
  writeSync(writer, lines('deleted-a', 1000));
  await waitUntil('the agent reads the file', async () => ((await sourceOf(path))?.lines_read ?? 0) > 0);
  unlinkSync(path);
  writeSync(writer, lines('deleted-b', 1000));
  closeSync(writer);
});

test('200 files appearing at once', async () => {
  const dir = folder('many');
  for (let file = 0; file < 200; file++) writeFileSync(join(dir, `f${file}.log`), lines(`many-${file}`, 20));
  for (let file = 0; file < 200; file++) await waitAcknowledged(join(dir, `f${file}.log`));
});

test('a line without its newline is held until it is complete, or until its file rotates away', async () => {
  const path = join(folder('partial'), 'app.log');
  writeFileSync(path, 'partial-0\npartial-1-start');
  expected.set('partial-0', 1);
  await waitUntil('the complete line is read', async () => {
    const source = await sourceOf(path);
    return source !== undefined && source.lines_read === 1 && source.acked_offset === 'partial-0\n'.length;
  });
  appendFileSync(path, '-end\n');
  expected.set('partial-1-start-end', 1);
  await waitAcknowledged(path);

  const rotated = join(folder('partial-rotated'), 'app.log');
  writeFileSync(rotated, 'rotated-without-newline');
  expected.set('rotated-without-newline', 1);
  await waitUntil('the file is read', async () => (await sourceOf(rotated))?.size === 'rotated-without-newline'.length);
  renameSync(rotated, `${rotated}.1`);
  await waitUntil('the held line is shipped once the file rotated away', async () =>
    (await agent.sources()).some((source) => source.path === rotated && source.lines_acked === 1),
  );
});

test('a 1 MiB line arrives whole', async () => {
  const path = join(folder('long'), 'app.log');
  const long = `long-${'x'.repeat(1024 * 1024 - 5)}`;
  expected.set(long, 1);
  writeFileSync(path, `${long}\n${lines('after-long', 3)}`);
  await waitAcknowledged(path);
});

test('symlinks are followed and the file behind two links is read once', async () => {
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'real.log'), lines('symlinked', 50));
  const dir = folder('symlinks');
  symlinkSync(join(outside, 'real.log'), join(dir, 'one.log'));
  symlinkSync(join(outside, 'real.log'), join(dir, 'two.log'));
  await waitUntil('the linked file is acknowledged', async () =>
    (await agent.sources()).some((source) => source.path.startsWith(dir) && source.lines_acked === 50),
  );
});

test('Kubernetes node mode: CRI lines unwrapped, P…F parts joined per stream, pod metadata from the path', async () => {
  const dir = join(pods, 'shop_web-7d9f_0c2b9d4e-1111-2222-3333-444455556666', 'nginx');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '0.log');
  writeFileSync(
    path,
    [
      '2024-05-01T10:00:00.000000001Z stdout F k8s-hello',
      '2024-05-01T10:00:00.000000002Z stdout P k8s-part-one-',
      '2024-05-01T10:00:00.000000003Z stderr F k8s-stderr-line',
      '',
    ].join('\n'),
  );
  await waitUntil('the whole lines are acknowledged', async () => ((await sourceOf(path))?.lines_acked ?? 0) === 2);
  appendFileSync(path, '2024-05-01T10:00:00.000000004Z stdout F k8s-part-two\n');
  await waitAcknowledged(path);
  for (const body of ['k8s-hello', 'k8s-part-one-k8s-part-two', 'k8s-stderr-line']) expected.set(body, 1);
});

test('Docker json-file lines: the log line unwrapped, chunks without a newline joined', async () => {
  const dir = join(root, 'docker', '4f1c');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '4f1c-json.log');
  writeFileSync(
    path,
    [
      JSON.stringify({ log: 'docker-hello\n', stream: 'stdout', time: '2024-05-01T10:00:01.000000001Z' }),
      JSON.stringify({ log: 'docker-chunk-one-', stream: 'stderr', time: '2024-05-01T10:00:01.000000002Z' }),
      JSON.stringify({ log: 'docker-chunk-two\n', stream: 'stderr', time: '2024-05-01T10:00:01.000000003Z' }),
      '',
    ].join('\n'),
  );
  for (const body of ['docker-hello', 'docker-chunk-one-docker-chunk-two']) expected.set(body, 1);
  await waitAcknowledged(path);
});

test('every line written arrives exactly once, with a record id per source offset', async () => {
  const total = [...expected.values()].reduce((sum, count) => sum + count, 0);
  await waitUntil('every line is acknowledged', async () => (await agent.metric('meshlog_agent_lines_shipped_total')) >= total);
  assert.equal(await agent.stop(), 0);
  await meshlog.stop();
  const rows = await readCommitted<{
    body: string;
    uid: string;
    resource: Record<string, string>;
    attributes: Record<string, string>;
    time: string;
  }>(
    meshlog.dataDir,
    `SELECT body, log_attributes['log.record.uid'] AS uid, resource_attributes AS resource, log_attributes AS attributes, toString(timestamp) AS time FROM meshlog.logs`,
  );
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.body, (counts.get(row.body) ?? 0) + 1);
  const missing = [...expected.keys()].filter((body) => !counts.has(body));
  const duplicated = [...counts].filter(([body, count]) => expected.has(body) && count !== expected.get(body)).map(([body]) => body);
  const unexpected = [...counts.keys()].filter((body) => !expected.has(body));
  assert.deepEqual(
    { missing: missing.slice(0, 5), duplicated: duplicated.slice(0, 5), unexpected: unexpected.slice(0, 5) },
    { missing: [], duplicated: [], unexpected: [] },
  );
  assert.equal(
    rows.length,
    [...expected.values()].reduce((sum, count) => sum + count, 0),
  );
  const byUid = new Map<string, string[]>();
  for (const row of rows) byUid.set(row.uid, [...(byUid.get(row.uid) ?? []), row.body.slice(0, 40)]);
  assert.deepEqual(
    [...byUid].filter(([, bodies]) => bodies.length > 1),
    [],
    'record ids are unique',
  );
  assert.match(rows[0].uid, /^[0-9a-f]{16}-\d+$/);

  const k8s = rows.find((row) => row.body === 'k8s-part-one-k8s-part-two')!;
  assert.equal(k8s.resource['k8s.namespace.name'], 'shop');
  assert.equal(k8s.resource['k8s.pod.name'], 'web-7d9f');
  assert.equal(k8s.resource['k8s.container.name'], 'nginx');
  assert.equal(k8s.resource['k8s.node.name'], 'node-1');
  assert.equal(k8s.attributes['log.iostream'], 'stdout');
  assert.equal(k8s.time, '2024-05-01 10:00:00.000000002');
  const docker = rows.find((row) => row.body === 'docker-chunk-one-docker-chunk-two')!;
  assert.equal(docker.attributes['log.iostream'], 'stderr');
  assert.equal(docker.resource['container.runtime'], 'docker');
  assert.equal(docker.time, '2024-05-01 10:00:01.000000002');
  const linked = rows.find((row) => row.body === 'symlinked-0')!;
  assert.match(linked.resource['log.file.path'], /symlinks\/(one|two)\.log$/);
});
