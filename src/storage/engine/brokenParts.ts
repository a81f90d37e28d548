import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How long the embedded engine keeps a part after a merge covered it:
 * ClickHouse server's default. chDB's is 0, which deletes the covered parts
 * within seconds, and with them the only good copy of rows whose merged
 * part was left broken (see findBrokenParts).
 */
export const outdatedPartsLifetimeSeconds = 480;

/** An active part the engine cannot read, as it was listed before the repair. */
export interface BrokenPart {
  table: string;
  name: string;
  /** 0 for a part an insert wrote, higher for a merge's. */
  level: number;
  partitionId: string;
  minBlock: number;
  maxBlock: number;
  rows: number;
  /** The engine's own verdict (CHECK TABLE … PART). */
  check: string;
}

/** A broken part after the engine reopened: how many of its rows the parts it covered gave back, and how many went in again. */
export interface RepairedPart extends BrokenPart {
  restoredRows: number;
  /** Rows of acknowledged inserts still retained in memory (RetainedBatches), inserted again. */
  reinsertedRows: number;
}

type Rows = <T>(query: string, params: Record<string, unknown>) => Promise<T[]>;

/**
 * Active parts written since `sinceSeconds` (Unix) that the engine cannot
 * read. When the file system runs out of space, chDB can commit a merged
 * part with every file empty and no error anywhere (measured on tmpfs: 7 of
 * 10 disk-full races; nothing in system.errors); more rarely an inserted
 * part too, after acknowledging its insert. Counts still answer, reads fail,
 * and once a merge's covered parts are deleted its rows are gone for good. A part with an empty file is a candidate
 * (hasEmptyFile: a stat per file, so this can run every few seconds); the
 * engine's CHECK TABLE … PART decides.
 */
export async function findBrokenParts(rows: Rows, database: string, sinceSeconds: number): Promise<BrokenPart[]> {
  const parts = await rows<{
    table: string;
    name: string;
    level: number;
    path: string;
    partition_id: string;
    min_block_number: number;
    max_block_number: number;
    rows: number;
  }>(
    `SELECT table, name, level, path, partition_id, min_block_number, max_block_number, rows FROM system.parts
     WHERE database = {db:String} AND active AND modification_time >= toDateTime({since:UInt32})`,
    { db: database, since: Math.max(0, Math.floor(sinceSeconds)) },
  );
  const broken: BrokenPart[] = [];
  for (const part of parts.filter((entry) => hasEmptyFile(entry.path))) {
    // CHECK TABLE takes no query parameters: names are the engine's own, checked before they are quoted.
    if (!/^\w+$/.test(part.table) || !/^[\w-]+$/.test(part.name)) continue;
    let verdict: { is_passed: number; message: string }[];
    try {
      verdict = await rows(`CHECK TABLE ${database}.${part.table} PART '${part.name}' SETTINGS check_query_single_value_result = 0`, {});
    } catch {
      // Merged away or dropped since it was listed: nothing left to repair.
      continue;
    }
    const failed = verdict.find((entry) => Number(entry.is_passed) === 0);
    if (!failed) continue;
    broken.push({
      table: part.table,
      name: part.name,
      level: Number(part.level),
      partitionId: part.partition_id,
      minBlock: Number(part.min_block_number),
      maxBlock: Number(part.max_block_number),
      rows: Number(part.rows),
      check: failed.message.split('\n')[0].slice(0, 300),
    });
  }
  return broken;
}

/**
 * A part with no checksums file, or with any empty file: on the encrypted
 * disk even an empty column has a header, so an empty file is one the full
 * disk cut (seen: a merged part whose checksums were written and a column
 * file left empty). Projections (subdirectories) are looked at too.
 */
function hasEmptyFile(partPath: string): boolean {
  try {
    if (statSync(join(partPath, 'checksums.txt')).size === 0) return true;
    for (const entry of readdirSync(partPath, { withFileTypes: true })) {
      const path = join(partPath, entry.name);
      if (entry.isDirectory() ? hasEmptyFile(path) : entry.isFile() && statSync(path).size === 0) return true;
    }
    return false;
  } catch {
    return true;
  }
}

/** Rows now readable in a broken part's block range (after the engine reopened and set it aside). */
export async function rowsInBlockRange(rows: Rows, database: string, part: BrokenPart): Promise<number> {
  const [found] = await rows<{ rows: string }>(
    `SELECT toString(sum(rows)) AS rows FROM system.parts
     WHERE database = {db:String} AND table = {table:String} AND active AND partition_id = {partition:String}
       AND min_block_number >= {min:Int64} AND max_block_number <= {max:Int64}`,
    { db: database, table: part.table, partition: part.partitionId, min: part.minBlock, max: part.maxBlock },
  );
  return Number(found?.rows ?? 0);
}
