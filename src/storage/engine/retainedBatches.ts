import { jsonEachRow, parseInsertLine, type InsertFormat } from './insertFormat.js';

/**
 * Tables whose acknowledged inserts are retained: the columns that identify
 * a row, so that a re-insert adds back exactly the rows a broken part took
 * and no row twice, and the columns (with their types) that narrow the look
 * for them to the batch's own rows.
 */
const retainedTables: Record<string, { identity: string[]; narrowBy: [column: string, type: string][] }> = {
  logs: {
    identity: ['chain_id', 'batch_seq', 'batch_pos'],
    narrowBy: [
      ['chain_id', 'String'],
      ['batch_seq', 'UInt64'],
    ],
  },
  seal_batches: {
    identity: ['chain_id', 'batch_seq'],
    narrowBy: [
      ['chain_id', 'String'],
      ['batch_seq', 'UInt64'],
    ],
  },
  // A span is its trace's and its own id (a sender's retry of one span is the same span).
  spans: { identity: ['tenant', 'trace_id', 'span_id'], narrowBy: [['trace_id', 'String']] },
};

/**
 * Bytes of acknowledged inserts held in memory until a look at the parts
 * written since shows them readable. At the cap the oldest are let go
 * unverified (counted in `releasedUnverified`): memory stays bounded, and
 * only a disk filling while more than this waits between two looks can
 * still lose rows, which the part watch then reports and audits.
 */
export const retainedBatchesMaxBytes = 64 * 1024 * 1024;

interface RetainedBatch {
  table: string;
  body: Buffer;
  format: InsertFormat;
  /** Date.now() when the insert was acknowledged. */
  at: number;
  bytes: number;
}

/** A retained batch some of whose rows were gone after a broken part was set aside, and went in again. */
export interface ReinsertedBatch {
  table: string;
  /** Rows inserted again (those of the batch the table no longer had). */
  rows: number;
  /** Rows of the batch in all. */
  batchRows: number;
  /** `chain_id/batch_seq` of every chain batch the insert held (the writer's group commit holds one per tenant); none for spans. */
  batches: string[];
}

type Rows = <T>(query: string, params: Record<string, unknown>) => Promise<T[]>;

/**
 * Acknowledged inserts (their JSON lines and the format they are in) of the tables above, kept
 * because chDB, when the file system fills during an insert, can acknowledge
 * it and commit its part with every file empty (see findBrokenParts): the
 * engine then sets the part aside and its rows are gone, unless they are
 * inserted again from here.
 */
export class RetainedBatches {
  private batches: RetainedBatch[] = [];
  private bytes = 0;
  /** Batches let go at the cap before any look saw them readable. */
  releasedUnverified = 0;

  constructor(private readonly maxBytes = retainedBatchesMaxBytes) {}

  get heldBytes(): number {
    return this.bytes;
  }

  /** Date.now() when the oldest batch still held was acknowledged. */
  get oldestAt(): number | undefined {
    return this.batches[0]?.at;
  }

  get count(): number {
    return this.batches.length;
  }

  /** Holds an acknowledged insert's body (a Buffer without copy: the caller never reuses it); other tables' inserts cost nothing. */
  keep(table: string, jsonLines: Buffer | string, format: InsertFormat = jsonEachRow): void {
    if (!(table in retainedTables) || jsonLines.length === 0) return;
    const body = typeof jsonLines === 'string' ? Buffer.from(jsonLines) : jsonLines;
    // A view keeps its whole allocation alive (the writer's encoder buffer): that is what it costs.
    const bytes = body.length > 4096 ? body.buffer.byteLength : body.length;
    this.batches.push({ table, body, format, at: Date.now(), bytes });
    this.bytes += bytes;
    while (this.bytes > this.maxBytes && this.batches.length > 1) {
      this.bytes -= this.batches.shift()!.bytes;
      this.releasedUnverified++;
    }
  }

  /** Lets go of the batches acknowledged before `before` (ms): a look saw every part written since readable. */
  releaseBefore(before: number): void {
    let kept = 0;
    while (kept < this.batches.length && this.batches[kept].at < before) kept++;
    for (const batch of this.batches.splice(0, kept)) this.bytes -= batch.bytes;
  }

  /**
   * After broken parts of `tables` were set aside: every retained batch of
   * those tables loses the rows the table still has; what is left is taken
   * out of the retained set and returned, to be inserted again.
   */
  async takeMissing(
    rows: Rows,
    database: string,
    tables: Set<string>,
  ): Promise<{ table: string; body: Buffer; format: InsertFormat; batch: ReinsertedBatch }[]> {
    const missing: { table: string; body: Buffer; format: InsertFormat; batch: ReinsertedBatch }[] = [];
    const taken = new Set<RetainedBatch>();
    for (const retained of this.batches.filter((batch) => tables.has(batch.table))) {
      const { identity, narrowBy } = retainedTables[retained.table];
      const lines = retained.body.toString('utf8').split('\n').filter(Boolean);
      const keyOf = (row: Record<string, unknown>) => identity.map((column) => String(row[column])).join('\u0000');
      const parsed = lines.map((line) => ({ line, row: parseInsertLine(line, retained.format) }));
      const batches = identity.includes('batch_seq')
        ? [...new Set(parsed.map(({ row }) => `${String(row.chain_id)}/${String(row.batch_seq)}`))]
        : [];
      const valuesOf = (column: string, type: string): (string | number)[] =>
        [...new Set(parsed.map(({ row }) => String(row[column])))].map((value) => (type === 'UInt64' ? Number(value) : value));
      const present = await rows<Record<string, unknown>>(
        `SELECT ${identity.map((column) => `toString(${column}) AS ${column}`).join(', ')} FROM ${database}.${retained.table}
         WHERE ${narrowBy.map(([column, type]) => `${column} IN {${column}:Array(${type})}`).join(' AND ')}`,
        Object.fromEntries(narrowBy.map(([column, type]) => [column, valuesOf(column, type)])),
      );
      const stored = new Set(present.map(keyOf));
      const gone = parsed.filter(({ row }) => !stored.has(keyOf(row)));
      if (gone.length === 0) continue;
      taken.add(retained);
      missing.push({
        table: retained.table,
        body: Buffer.from(gone.map(({ line }) => `${line}\n`).join('')),
        format: retained.format,
        batch: { table: retained.table, rows: gone.length, batchRows: lines.length, batches },
      });
    }
    // Only once every batch was looked at: a check that fails leaves them all retained, for the next look.
    for (const batch of taken) this.bytes -= batch.bytes;
    this.batches = this.batches.filter((batch) => !taken.has(batch));
    return missing;
  }
}
