import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import type { RepairedPart } from '../../../src/storage/engine/brokenParts.js';
import type { ReinsertedBatch } from '../../../src/storage/engine/retainedBatches.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { mountTmpfs } from '../../support/tmpfs.js';
import { waitFor } from '../../support/waitFor.js';

const logger = pino({ level: 'silent' });

/** Seal-table rows (the table whose first seals a full disk once took): `count` of them from `firstSeq`. */
function sealRows(firstSeq: number, count: number): string {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      chain_id: 'acme/w1',
      tenant: 'acme',
      batch_seq: firstSeq + i,
      record_count: 30,
      content_hash: 'c'.repeat(64),
      fingerprints: Array.from({ length: 30 }, (_, n) => (firstSeq + i) * 1000 + n),
      prev_hash: '0'.repeat(64),
      batch_hash: 'b'.repeat(64),
      min_time: '1732540000000000000',
      max_time: '1732540000000000001',
    }),
  ).join('\n');
}

async function activeParts(storage: Storage): Promise<{ name: string; path: string; level: number; rows: string }[]> {
  return storage.rows(
    `SELECT name, path, level, toString(rows) AS rows FROM system.parts WHERE database = 'meshlog' AND table = 'seal_batches' AND active ORDER BY name`,
  );
}

/** Reads every column of every row: what fails ("Empty marks file") while a broken part is active. */
async function readAll(storage: Storage): Promise<{ rows: number; fingerprints: number }> {
  const [row] = await storage.rows<{ rows: string; fingerprints: string }>(
    `SELECT toString(count()) AS rows, toString(sum(length(fingerprints))) AS fingerprints FROM meshlog.seal_batches WHERE NOT ignore(*)`,
  );
  return { rows: Number(row.rows), fingerprints: Number(row.fingerprints) };
}

/** Leaves an active part as chDB leaves a merged part written while the disk filled: every file empty. */
function emptyEveryFile(partPath: string): void {
  for (const file of readdirSync(partPath)) truncateSync(join(partPath, file), 0);
}

function watchRepairs(storage: Storage, reinserted: ReinsertedBatch[] = []): RepairedPart[] {
  const repaired: RepairedPart[] = [];
  storage.watchParts(
    (parts, batches) => {
      repaired.push(...parts);
      reinserted.push(...batches);
    },
    { intervalMs: 100, everyLook: true },
  );
  return repaired;
}

test('a merged part left with empty files by a full disk is set aside and the parts it covered come back, without a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-broken-part-'));
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, logger);
  try {
    for (let insert = 0; insert < 4; insert++) await storage.insertJsonLines('seal_batches', sealRows(1 + insert * 10, 10));
    await storage.client.command({ query: 'OPTIMIZE TABLE meshlog.seal_batches FINAL' });
    const [merged] = await activeParts(storage);
    assert.ok(merged.level > 0, `one merged part (${merged.name})`);
    assert.deepEqual(await readAll(storage), { rows: 40, fingerprints: 1200 });

    emptyEveryFile(merged.path);
    await assert.rejects(readAll(storage), /marks|Cannot read|checksum|empty|out of bounds/i, 'the broken part makes every full read fail');

    const repaired = watchRepairs(storage);
    await waitFor(() => repaired.length > 0, { what: 'the broken part to be repaired' });
    assert.equal(repaired[0].name, merged.name);
    assert.equal(repaired[0].rows, 40);
    assert.equal(repaired[0].restoredRows, 40, 'the covered parts were kept (old_parts_lifetime) and came back');
    assert.deepEqual(await readAll(storage), { rows: 40, fingerprints: 1200 });
    const detached = await storage.rows<{ name: string }>(
      `SELECT name FROM system.detached_parts WHERE database = 'meshlog' AND table = 'seal_batches'`,
    );
    assert.deepEqual(
      detached.map((part) => part.name),
      [`broken-on-start_${merged.name}`],
      'the broken part is kept aside, not deleted',
    );
    // And writes go on on the reopened engine.
    await storage.insertJsonLines('seal_batches', sealRows(41, 5));
    assert.equal((await readAll(storage)).rows, 45);
  } finally {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an acknowledged insert whose part is left broken is inserted again from memory, once, and audited with its rows', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-broken-part-'));
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, logger);
  try {
    await storage.insertJsonLines('seal_batches', sealRows(1, 10));
    await storage.insertJsonLines('seal_batches', sealRows(11, 10));
    const [first] = await activeParts(storage);
    emptyEveryFile(first.path);
    const reinserted: ReinsertedBatch[] = [];
    const repaired = watchRepairs(storage, reinserted);
    await waitFor(() => repaired.length > 0, { what: 'the broken part to be repaired' });
    assert.deepEqual(
      repaired.map((part) => ({ name: part.name, rows: part.rows, restoredRows: part.restoredRows, reinsertedRows: part.reinsertedRows })),
      [{ name: first.name, rows: 10, restoredRows: 0, reinsertedRows: 10 }],
    );
    assert.deepEqual(
      reinserted.map((batch) => ({ table: batch.table, rows: batch.rows, batchRows: batch.batchRows })),
      [{ table: 'seal_batches', rows: 10, batchRows: 10 }],
      'only the batch the broken part held went in again',
    );
    assert.deepEqual(await readAll(storage), { rows: 20, fingerprints: 600 });
    const [{ copies }] = await storage.rows<{ copies: string }>(
      `SELECT toString(max(c)) AS copies FROM (SELECT count() AS c FROM meshlog.seal_batches GROUP BY chain_id, batch_seq)`,
    );
    assert.equal(copies, '1', 'no row twice');
  } finally {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('acknowledged spans whose part is left broken are inserted again from memory, once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-broken-part-'));
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, logger);
  const spans = (trace: string) =>
    Array.from({ length: 8 }, (_, n) =>
      JSON.stringify({ tenant: 'acme', timestamp: '1732540000000000000', trace_id: trace, span_id: `span${n}`, span_name: 'GET /' }),
    ).join('\n');
  try {
    await storage.insertJsonLines('spans', spans('a'.repeat(32)));
    await storage.insertJsonLines('spans', spans('b'.repeat(32)));
    const [first] = await storage.rows<{ path: string }>(
      `SELECT path FROM system.parts WHERE database = 'meshlog' AND table = 'spans' AND active ORDER BY name`,
    );
    emptyEveryFile(first.path);
    const reinserted: ReinsertedBatch[] = [];
    const repaired = watchRepairs(storage, reinserted);
    await waitFor(() => repaired.length > 0, { what: 'the broken spans part to be repaired' });
    assert.deepEqual(
      reinserted.map((batch) => ({ table: batch.table, rows: batch.rows })),
      [{ table: 'spans', rows: 8 }],
    );
    const stored = await storage.rows<{ trace_id: string; spans: string }>(
      `SELECT trace_id, toString(count()) AS spans FROM meshlog.spans WHERE NOT ignore(*) GROUP BY trace_id ORDER BY trace_id`,
    );
    assert.deepEqual(stored, [
      { trace_id: 'a'.repeat(32), spans: '8' },
      { trace_id: 'b'.repeat(32), spans: '8' },
    ]);
  } finally {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a broken part whose batch a look already saw readable is reported as rows lost, and the rest of the table reads again', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-broken-part-'));
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, logger);
  try {
    await storage.insertJsonLines('seal_batches', sealRows(1, 10));
    await storage.insertJsonLines('seal_batches', sealRows(11, 10));
    const repaired = watchRepairs(storage);
    // A clean look lets the retained batches go: a part broken after that is beyond what memory holds.
    await waitFor(() => storage.retained!.count === 0, { what: 'the retained batches to be let go after a clean look' });
    const [first] = await activeParts(storage);
    emptyEveryFile(first.path);
    await waitFor(() => repaired.length > 0, { what: 'the broken part to be reported' });
    assert.deepEqual(
      repaired.map((part) => ({ name: part.name, rows: part.rows, restoredRows: part.restoredRows, reinsertedRows: part.reinsertedRows })),
      [{ name: first.name, rows: 10, restoredRows: 0, reinsertedRows: 0 }],
      'the loss is reported, never hidden',
    );
    assert.deepEqual(await readAll(storage), { rows: 10, fingerprints: 300 });
  } finally {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('inserts and merges racing a disk that fills leave every part readable again without a restart, and every acknowledged row stored once', async (t) => {
  let mergesRestored = 0;
  let rowsReinserted = 0;
  for (let round = 0; round < 6; round++) {
    const mount = mountTmpfs(64);
    const storage = await Storage.open({ dataDir: join(mount.dir, 'data'), database: 'meshlog' }, logger);
    try {
      const reinserted: ReinsertedBatch[] = [];
      const repaired = watchRepairs(storage, reinserted);
      // Another process takes every byte while seals go in, small parts merging all the while.
      const filler = spawn(process.execPath, ['-e', fillerScript, join(mount.dir, 'filler')], { stdio: 'ignore' });
      let filled = false;
      filler.on('exit', () => (filled = true));
      const acknowledged: number[] = [];
      let seq = 1;
      while (!filled) {
        try {
          await storage.insertJsonLines('seal_batches', sealRows(seq, 20));
          for (let i = 0; i < 20; i++) acknowledged.push(seq + i);
        } catch {
          // Refused for want of space: not acknowledged.
        }
        seq += 20;
      }
      rmSync(join(mount.dir, 'filler'));
      const storedOnce = async () => {
        const rows = await storage.rows<{ seq: string; copies: string }>(
          `SELECT toString(batch_seq) AS seq, toString(count()) AS copies FROM meshlog.seal_batches WHERE NOT ignore(*) GROUP BY batch_seq`,
        );
        const copies = new Map(rows.map((row) => [Number(row.seq), Number(row.copies)]));
        return acknowledged.filter((ack) => copies.get(ack) !== 1);
      };
      let last = 'nothing read yet';
      await waitFor(
        async () => {
          try {
            const wrong = await storedOnce();
            last = `${wrong.length} acknowledged rows missing or stored twice (${wrong.slice(0, 10).join(', ')})`;
            return wrong.length === 0 ? true : undefined;
          } catch (error) {
            last = (error as Error).message.slice(0, 300);
            return undefined;
          }
        },
        { what: `all ${acknowledged.length} acknowledged rows readable, each once` },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; last read: ${last}; parts repaired: ${JSON.stringify(repaired)}`);
      });
      assert.deepEqual(await storedOnce(), [], 'every acknowledged row is readable, once');
      mergesRestored += repaired.filter((part) => part.level > 0 && part.restoredRows === part.rows).length;
      rowsReinserted += reinserted.reduce((sum, batch) => sum + batch.rows, 0);
    } finally {
      await storage.close();
      mount.unmount();
    }
  }
  t.diagnostic(
    `6 rounds: ${mergesRestored} broken merged parts restored, ${rowsReinserted} acknowledged rows of broken insert parts inserted again`,
  );
});

/** Writes until the file system refuses: every byte left, as another tenant of the machine would. */
const fillerScript = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'w');
for (const size of [1 << 20, 4096, 1]) {
  const chunk = Buffer.alloc(size, 97);
  try { for (;;) fs.writeSync(fd, chunk); } catch (error) { if (error.code !== 'ENOSPC') throw error; }
}
fs.closeSync(fd);
`;
