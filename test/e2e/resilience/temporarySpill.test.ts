import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/** Bytes of every file under the engine's temporary directory that hold the needle. */
function temporaryFilesContaining(dataDir: string, needle: string): string[] {
  const dir = join(dataDir, 'clickhouse', 'tmp');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && readFileSync(join(entry.parentPath, entry.name)).includes(needle))
    .map((entry) => entry.name);
}

/** Bytes the engine wrote to temporary files since it started. */
async function spilledBytes(storage: Storage): Promise<number> {
  const [row] = await storage.rows<{ bytes: string }>(
    `SELECT toString(sum(value)) AS bytes FROM system.events WHERE event = 'ExternalProcessingCompressedBytesTotal'`,
  );
  return Number(row?.bytes ?? 0);
}

test('an encrypted engine writes no temporary data: a query that would spill is refused before a byte of log text reaches disk', async () => {
  const dataDir = tempDataDir();
  const storage = await Storage.open({ dataDir, database: 'meshlog', encryption: { enabled: true } }, pino({ level: 'silent' }));
  const marker = 'spillcanaryqwertyzxcv';
  try {
    await storage.client.command({ query: `CREATE TABLE meshlog.spill_probe (body String) ENGINE = MergeTree ORDER BY tuple()` });
    await storage.client.command({
      query: `INSERT INTO meshlog.spill_probe SELECT concat('${marker}', toString(number), repeat('x', 100)) FROM numbers(200000)`,
    });
    // A threshold far below the data: without the cap this aggregation writes spill files under <data>/clickhouse/tmp.
    const spilling = `SELECT body, count() FROM meshlog.spill_probe GROUP BY body ORDER BY body LIMIT 1 SETTINGS max_bytes_before_external_group_by = 1000000`;
    await assert.rejects(
      storage.client.query({ query: spilling, format: 'JSONEachRow' }).then((result) => result.json()),
      /Limit for temporary files size exceeded/,
    );
    assert.equal(await spilledBytes(storage), 0, 'not a byte of temporary data was written');
    // Sorts and joins are not held by the cap (measured: a sort past its threshold spills anyway), so their thresholds must be off.
    const thresholds = await storage.rows<{ name: string; value: string }>(
      `SELECT name, value FROM system.settings WHERE name LIKE 'max_bytes%before_external_%' OR name LIKE 'max_temporary_data_on_disk_size_for_%' ORDER BY name`,
    );
    assert.deepEqual(Object.fromEntries(thresholds.map((row) => [row.name, row.value])), {
      max_bytes_before_external_group_by: '0',
      max_bytes_before_external_join: '0',
      max_bytes_before_external_sort: '0',
      max_bytes_ratio_before_external_group_by: '0',
      max_bytes_ratio_before_external_join: '0',
      max_bytes_ratio_before_external_sort: '0',
      max_temporary_data_on_disk_size_for_query: '1',
      max_temporary_data_on_disk_size_for_user: '1',
    });
    assert.deepEqual(temporaryFilesContaining(dataDir, marker), []);
    // Within memory, the same data is still queried as usual.
    const [row] = await storage.rows<{ distinct: string }>(`SELECT toString(uniqExact(body)) AS distinct FROM meshlog.spill_probe`);
    assert.equal(row?.distinct, '200000');
  } finally {
    await storage.close();
  }
});
