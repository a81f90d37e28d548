import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SealJournal, type JournaledSeal } from '../../../src/storage/logs/sealJournal.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { fillDisk, mountTmpfs } from '../../support/tmpfs.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

/**
 * What a run that reproduces the open defect keeps for its diagnosis: the data directory and the server
 * log under test-output/, and in the test's output the journal, the quarantine and the stored seals.
 */
async function keepForDiagnosis(server: RunningMeshlog): Promise<string> {
  const kept = join(keptDir, `disk-full-${Date.now()}`);
  mkdirSync(keptDir, { recursive: true });
  execFileSync('cp', ['-a', server.dataDir, kept]);
  writeFileSync(`${kept}.server.log`, server.output());
  const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).join(', ') || '(empty)' : '(none)');
  const seals = await readCommitted<Record<string, unknown>>(
    server.dataDir,
    'SELECT chain_id, min(batch_seq) AS first, max(batch_seq) AS last, count() AS seals FROM meshlog.seal_batches GROUP BY chain_id ORDER BY chain_id',
  );
  const sealLines = server
    .output()
    .split('\n')
    .filter((line) => /seal|journal|disk|error/i.test(line));
  return [
    `kept in ${kept} (and ${kept}.server.log)`,
    `seal journal: ${listing(join(server.dataDir, 'seal-journal'))}`,
    `quarantine: ${listing(join(server.dataDir, 'quarantine', 'seal-journal'))}`,
    `seal_batches: ${JSON.stringify(seals)}`,
    'server log lines on seals, the journal, the disk and errors:',
    ...sealLines.slice(-80),
  ].join('\n');
}

const keptDir = fileURLToPath(new URL('../../../../test-output/', import.meta.url));

const bodies = (tag: string, count: number) => Array.from({ length: count }, (_, i) => `${tag} record=${i}`);

async function lokiPush(server: RunningMeshlog, lines: string[]): Promise<Response> {
  const now = BigInt(Date.now()) * 1_000_000n;
  return fetch(`${server.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      streams: [{ stream: { service_name: 'disk-full' }, values: lines.map((line, i) => [String(now + BigInt(i)), line]) }],
    }),
    signal: AbortSignal.timeout(30_000),
  });
}

async function queryCount(server: RunningMeshlog): Promise<{ status: number; count: number }> {
  const query = encodeURIComponent('{service_name="disk-full"}');
  const response = await fetch(`${server.url}/loki/api/v1/query_range?query=${query}&since=1h&limit=5000`, {
    headers: { authorization: `Bearer ${server.token}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status !== 200) return { status: response.status, count: -1 };
  const json = (await response.json()) as { data: { result: { values: unknown[] }[] } };
  return { status: 200, count: json.data.result.reduce((sum, stream) => sum + stream.values.length, 0) };
}

test('a full disk refuses writes with a retryable error and loses nothing once space frees', async (t) => {
  const mount = mountTmpfs(160);
  let server: RunningMeshlog | undefined;
  try {
    // 32 MiB of headroom for ingest; meshlog's own records may use 8 MiB more.
    const env = { MESHLOG_LIMITS_MIN_FREE_DISK_BYTES: '32MiB' };
    server = await startMeshlog({ dataDir: join(mount.dir, 'data'), env });
    const acknowledged = new Set<string>();
    const refused = new Set<string>();
    const otlp = async (tag: string) => {
      const lines = bodies(tag, 50);
      const response = await postOtlpJson(server!.url, server!.token, otlpJsonRequest('disk-full', lines), {});
      if (response.status === 200) lines.forEach((line) => acknowledged.add(line));
      else lines.forEach((line) => refused.add(line));
      return response;
    };

    for (let request = 0; request < 10; request++) assert.equal((await otlp(`before request=${request}`)).status, 200);
    assert.equal((await queryCount(server)).count, 500);

    // Another tenant of the machine takes every byte left.
    const filler = join(mount.dir, 'filler');
    assert.ok(fillDisk(filler) > 0);

    // A syslog sender (no acknowledgements: it is held back, never dropped) sends while the disk is full.
    const [host, port] = server.listeners.syslog_tcp!.split(/:(?=\d+$)/);
    const syslog = net.connect(Number(port), host);
    syslog.on('error', () => undefined);
    await new Promise((resolve) => syslog.once('connect', resolve));
    const syslogLines = bodies('syslog during the full disk', 5);
    for (const line of syslogLines) syslog.write(`<13>1 ${new Date().toISOString()} host disk-full - - - ${line}\n`);

    for (let request = 0; request < 5; request++) {
      const response = await otlp(`full otlp request=${request}`);
      assert.equal(response.status, 503, 'a write is refused while the disk is full');
      assert.ok(Number(response.headers.get('retry-after')) >= 1, 'with Retry-After');
      assert.match(await response.text(), /data disk nearly full/);
    }
    const pushLines = bodies('full loki push', 20);
    const pushed = await lokiPush(server, pushLines);
    assert.equal(pushed.status, 503, await pushed.text());
    assert.ok(Number(pushed.headers.get('retry-after')) >= 1);
    pushLines.forEach((line) => refused.add(line));

    // Reads go on: queries answer with everything stored, /ready says ready and why ingest is paused.
    assert.deepEqual(await queryCount(server), { status: 200, count: 500 });
    const ready = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(ready.status, 200);
    assert.match(await ready.text(), /^ready; ingest paused: data disk nearly full/);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
    assert.match(metrics, /^meshlog_records_rejected_total\{receiver="otlp_http",reason="disk_full"\} 250$/m);
    assert.match(metrics, /^meshlog_data_disk_free_bytes \d/m);

    // Space frees: ingest resumes (the refusal is looked at again within a second).
    rmSync(filler);
    let resumed = 0;
    for (let attempt = 0; attempt < 40 && resumed === 0; attempt++) {
      if ((await otlp(`after request=0 attempt=${attempt}`)).status === 200) resumed++;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(resumed, 1, 'ingest resumes once space frees');
    for (let request = 1; request < 10; request++) assert.equal((await otlp(`after request=${request}`)).status, 200);
    assert.equal((await lokiPush(server, bodies('after loki push', 20))).status, 204);
    bodies('after loki push', 20).forEach((line) => acknowledged.add(line));
    assert.match(await (await fetch(`${server.url}/ready`)).text(), /^ready\n$/);

    // The held-back syslog lines go through once there is room (the listener retries them).
    syslog.end();
    const deadline = Date.now() + 60_000;
    let query = await queryCount(server);
    while (query.count < acknowledged.size + syslogLines.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      query = await queryCount(server);
    }
    assert.equal(query.count, acknowledged.size + syslogLines.length);
    assert.equal(await server.stop(), 0, server.output());

    // Every acknowledged record is stored exactly once; nothing refused was stored; the chains verify clean.
    const rows = await readCommitted<{ body: string; copies: string }>(
      server.dataDir,
      'SELECT body, count() AS copies FROM meshlog.logs GROUP BY body',
    );
    const copies = new Map(rows.map((row) => [row.body, Number(row.copies)]));
    assert.deepEqual(
      [...acknowledged].filter((body) => copies.get(body) !== 1),
      [],
      'acknowledged but lost or duplicated',
    );
    assert.deepEqual(
      [...refused].filter((body) => copies.has(body)),
      [],
      'refused, yet stored',
    );
    assert.ok(
      syslogLines.every((line) => [...copies.keys()].some((body) => body.endsWith(line))),
      'the syslog lines held back are stored',
    );
    // Nothing acknowledged lost, even where chDB left an acknowledged insert's part empty (issue 17): the server
    // held the batch in memory and inserted it again (storage.batch_reinserted). The chains verify clean.
    const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', server.dataDir], { encoding: 'utf8' });
    if (verify.status !== 0) t.diagnostic(await keepForDiagnosis(server));
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^OK/);
    const reinserted = server.output().match(/acknowledged rows of a broken storage part inserted again/g)?.length ?? 0;
    t.diagnostic(`batches inserted again after a broken part: ${reinserted}`);

    // And the directory starts again.
    server = await startMeshlog({ dataDir: server.dataDir, env });
    assert.equal((await otlp('after restart')).status, 200);
    assert.equal(await server.stop(), 0, server.output());
    server = undefined;
  } finally {
    await server?.kill();
    mount.unmount();
  }
});

const seal = (seq: number): JournaledSeal => ({
  chain_id: 'acme/w1',
  tenant: 'acme',
  batch_seq: seq,
  record_count: 3,
  content_hash: 'c'.repeat(64),
  prev_hash: '0'.repeat(64),
  batch_hash: 'b'.repeat(64),
  min_time: '1732540000000000000',
  max_time: '1732540000000000001',
  committed_at: '1732540000.123',
});

test('a seal journal append cut short by a full disk leaves no torn line for the next append to join', () => {
  const mount = mountTmpfs(1);
  try {
    const dir = join(mount.dir, 'seal-journal');
    mkdirSync(dir);
    const journal = new SealJournal(dir);
    journal.append([seal(1), seal(2)]);
    const filler = join(mount.dir, 'filler');
    const filled = fillDisk(filler);
    // 8 KiB left: 500 seals (about 200 KiB) are written in part, then refused.
    truncateSync(filler, filled - 8192);
    assert.throws(() => journal.append(Array.from({ length: 500 }, (_, i) => seal(3 + i))), /ENOSPC/);
    rmSync(filler);
    journal.append([seal(3)]);
    // Every segment reads whole (a journal that did not would stop the next start), with exactly the seals appended.
    const read = journal.rotate().flatMap((segment) => journal.read(segment).map((entry) => entry.batch_seq));
    assert.deepEqual(read, [1, 2, 3]);
    for (const name of readdirSync(dir)) {
      const text = readFileSync(join(dir, name), 'utf8');
      for (const line of text.split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `${name}: ${line.slice(0, 80)}`);
    }
  } finally {
    mount.unmount();
  }
});
