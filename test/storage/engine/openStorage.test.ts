import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Metrics } from '../../../src/observability/metrics.js';
import { openStorage, type RunExclusive, type StorageSettings } from '../../../src/storage/engine/openStorage.js';

const logger = pino({ level: 'silent' });

function settings(dataDir: string, clickhouseUrl?: string): StorageSettings {
  return {
    data_dir: dataDir,
    clickhouse_url: clickhouseUrl,
    database: 'meshlog',
    encryption: { enabled: false },
    limits: { min_free_disk_bytes: 0 },
  };
}

/** An `exclusive` that only notes which jobs asked for the lease, then runs them. */
function noting(asked: string[]): RunExclusive {
  return (name, job) => {
    asked.push(name);
    return job();
  };
}

test('an embedded store is opened and migrated by its own node, never under the cluster lease', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-open-'));
  try {
    const asked: string[] = [];
    const storage = await openStorage(settings(dataDir), { logger, leases: { exclusive: noting(asked) } });
    try {
      assert.ok(storage.embedded);
      const migrated = await storage.rows<{ n: string }>(`SELECT toString(count()) AS n FROM meshlog.schema_migrations`);
      assert.ok(Number(migrated[0].n) > 0, 'migrations ran');
      assert.deepEqual(asked, []);
    } finally {
      await storage.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a shared ClickHouse is opened under the schema-migration lease, and a failure to reach it is not swallowed', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-open-'));
  try {
    const asked: string[] = [];
    // Port 9 (discard) on loopback: nothing answers, so opening fails after it asked for the lease.
    await assert.rejects(openStorage(settings(dataDir, 'http://127.0.0.1:9'), { logger, leases: { exclusive: noting(asked) } }));
    assert.deepEqual(asked, ['job.schema-migrations']);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("an embedded store watching its disk publishes the disk's free bytes as meshlog_data_disk_free_bytes", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-open-'));
  try {
    const metrics = new Metrics();
    const storage = await openStorage({ ...settings(dataDir), limits: { min_free_disk_bytes: 1 } }, { logger, metrics });
    try {
      const published = (await metrics.dataDiskFreeBytes.get()).values[0]?.value ?? 0;
      assert.ok(published > 1, `free bytes published: ${published}`);
    } finally {
      await storage.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
