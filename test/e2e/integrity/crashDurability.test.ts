import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const senders = 8;
const recordsPerRequest = 50;
/** SIGKILL once this many records were acknowledged, with requests still in flight. */
const killAfterAcked = 6_000;

test('every acknowledged record survives SIGKILL exactly once, and the server restarts cleanly', async () => {
  const first = await startMeshlog();
  const acknowledged = new Set<string>();
  let killed = false;
  let inFlightAtKill = 0;
  let inFlight = 0;
  let killing: Promise<void> | undefined;

  const sender = async (id: number) => {
    for (let request = 0; !killed; request++) {
      const bodies = Array.from({ length: recordsPerRequest }, (_, i) => `sender=${id} request=${request} record=${i}`);
      inFlight++;
      try {
        const response = await postOtlpJson(first.url, first.token, otlpJsonRequest('crash-test', bodies));
        if (response.ok) {
          for (const body of bodies) acknowledged.add(body);
        }
        await response.arrayBuffer();
      } catch {
        // The connection died with the server: this request was never acknowledged.
      } finally {
        inFlight--;
      }
      if (!killed && acknowledged.size >= killAfterAcked) {
        killed = true;
        inFlightAtKill = inFlight;
        killing = first.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: senders }, (_, id) => sender(id)));
  await killing;
  assert.ok(inFlightAtKill > 0, 'the kill happened with requests in flight');

  // Same data directory: the server must start cleanly and keep taking writes.
  const second = await startMeshlog({ dataDir: first.dataDir });
  const after = await postOtlpJson(second.url, second.token, otlpJsonRequest('crash-test', ['after restart']));
  assert.equal(after.status, 200);
  assert.equal(await second.stop(), 0, second.output());

  const rows = await readCommitted<{ body: string; copies: string }>(
    first.dataDir,
    `SELECT body, count() AS copies FROM meshlog.logs GROUP BY body`,
  );
  const copies = new Map(rows.map((row) => [row.body, Number(row.copies)]));
  const missing = [...acknowledged].filter((body) => !copies.has(body));
  const duplicated = rows.filter((row) => Number(row.copies) !== 1);
  assert.equal(missing.length, 0, `acknowledged but lost: ${missing.slice(0, 5).join(', ')}`);
  assert.equal(duplicated.length, 0, `stored more than once: ${JSON.stringify(duplicated.slice(0, 5))}`);
  assert.ok(copies.has('after restart'));

  // Integrity coordinates keep counting after the crash: no batch sequence is reused.
  const sequences = await readCommitted<{ batch_seq: string }>(
    first.dataDir,
    `SELECT batch_seq FROM meshlog.logs GROUP BY chain_id, batch_seq HAVING count() != uniqExact(batch_pos)`,
  );
  assert.deepEqual(sequences, [], 'a batch sequence number was used by two commits');

  // The chains verify clean: a batch the kill interrupted is recorded as aborted, not missing.
  const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', first.dataDir], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^OK/);
});
