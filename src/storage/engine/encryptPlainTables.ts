import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { outdatedPartsLifetimeSeconds } from './brokenParts.js';
import { migratedPolicy } from './encryptedDisk.js';

const systemDatabases = `('system', 'INFORMATION_SCHEMA', 'information_schema')`;
/** How long the engine may take to delete the plaintext copies of moved parts. */
const cleanupTimeoutMs = 120_000;

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

const quoted = (name: string) => `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;

/**
 * Moves every table of a plaintext data directory onto the encrypted disk,
 * in an engine started for the migration (the `default` policy still the
 * plain disk, see startEncryptedEngine): each MergeTree
 * table switches to the policy that holds both disks, every partition with
 * parts on the plain disk is moved, and the plain copies are deleted before
 * returning (old_parts_lifetime 0 for the time of the move, then as Storage keeps it). Run again after
 * an interruption, it finishes what is left.
 */
export async function encryptPlainTables(client: ClickHouseClient): Promise<{ tables: number; partitions: number }> {
  const tables = await rows<{ database: string; name: string; storage_policy: string }>(
    client,
    `SELECT database, name, storage_policy FROM system.tables
     WHERE database NOT IN ${systemDatabases} AND engine LIKE '%MergeTree' AND storage_policy IN ('default', '${migratedPolicy}')`,
  );
  let partitions = 0;
  for (const table of tables) {
    const name = `${quoted(table.database)}.${quoted(table.name)}`;
    if (table.storage_policy !== migratedPolicy)
      await client.command({ query: `ALTER TABLE ${name} MODIFY SETTING storage_policy = '${migratedPolicy}'` });
    await client.command({ query: `ALTER TABLE ${name} MODIFY SETTING old_parts_lifetime = 0` });
    const plain = await rows<{ partition_id: string }>(
      client,
      `SELECT DISTINCT partition_id FROM system.parts WHERE database = '${table.database}' AND table = '${table.name}' AND active AND disk_name = 'default'`,
    );
    for (const { partition_id } of plain) {
      await client.command({
        query: `ALTER TABLE ${name} MOVE PARTITION ID '${partition_id.replaceAll("'", "\\'")}' TO DISK 'meshlog_encrypted'`,
      });
      partitions++;
    }
  }
  // The moved parts' plaintext copies are outdated now; the engine's cleanup deletes them.
  for (const deadline = Date.now() + cleanupTimeoutMs; ;) {
    const [left] = await rows<{ parts: string }>(
      client,
      `SELECT toString(count()) AS parts FROM system.parts WHERE disk_name = 'default' AND database NOT IN ${systemDatabases}`,
    );
    if (Number(left?.parts ?? 0) === 0) break;
    if (Date.now() > deadline) throw new Error(`${left?.parts} plaintext parts were moved but not yet deleted; run the command again`);
    await sleep(200);
  }
  for (const table of tables) {
    await client.command({
      query: `ALTER TABLE ${quoted(table.database)}.${quoted(table.name)} MODIFY SETTING old_parts_lifetime = ${outdatedPartsLifetimeSeconds}`,
    });
  }
  return { tables: tables.length, partitions };
}
