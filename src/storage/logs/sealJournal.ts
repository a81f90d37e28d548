import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { SealedLineFormat } from '../../model/batchSeal.js';
import type { StoredBatch } from './storedBatch.js';

/**
 * A batch seal as journaled: its seal_batches row without the per-record
 * fingerprints, `committed_at` as Unix seconds with milliseconds.
 */
export type JournaledSeal = StoredBatch;

/** One journal line set aside because it could not be moved into seal_batches. */
export interface QuarantinedSeal {
  /** The segment it came from and when it was set aside. */
  segment: string;
  quarantinedAt: string;
  /** Known when the line parsed. */
  chain?: string;
  batchSeq?: number;
  tenant?: string;
  reason: string;
  /** The line as it was (at most 2,000 characters). */
  line: string;
}

const maxInt64 = 2n ** 63n - 1n;
const sealedLineFormats: SealedLineFormat[] = ['JSONEachRow', 'JSONCompactEachRow'];

/** Why a parsed journal line is not a seal seal_batches can hold, or undefined when it is one. */
export function journaledSealProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const seal = value as Record<string, unknown>;
  for (const field of ['chain_id', 'tenant', 'content_hash', 'prev_hash', 'batch_hash'] as const) {
    if (typeof seal[field] !== 'string') return `${field} is not a string`;
  }
  if (seal.chain_id === '') return 'chain_id is empty';
  if (seal.line_format !== undefined && !sealedLineFormats.includes(seal.line_format as SealedLineFormat))
    return `line_format ${JSON.stringify(seal.line_format)?.slice(0, 40)} is not a line format`;
  for (const field of ['batch_seq', 'record_count'] as const) {
    if (typeof seal[field] !== 'number' || !Number.isSafeInteger(seal[field]) || (seal[field] as number) < 0)
      return `${field} is not a count`;
  }
  for (const field of ['min_time', 'max_time'] as const) {
    const time = seal[field];
    // DateTime64(9): nanoseconds in 0..2^63-1 (what the writer stores).
    if (typeof time !== 'string' || !/^\d{1,19}$/.test(time) || BigInt(time) > maxInt64)
      return `${field} ${JSON.stringify(time)?.slice(0, 40)} is not a storable time`;
  }
  if (typeof seal.committed_at !== 'string' || !/^\d{1,12}(\.\d{1,3})?$/.test(seal.committed_at)) return 'committed_at is not Unix seconds';
  return undefined;
}

/** Where a data directory's quarantined journal lines go: beside the journal, out of its way. */
export function sealQuarantineDir(dataDir: string): string {
  return join(resolve(dataDir), 'quarantine', 'seal-journal');
}

/** The journal of a data directory: inside it, so it travels and is removed with it. */
export function sealJournalDir(dataDir: string): string {
  return join(resolve(dataDir), 'seal-journal');
}

/**
 * Seals written ahead of their rows: one small append per group commit
 * instead of a MergeTree part per commit (about 10 ms of engine time each,
 * in the commit's path). Segments are moved into seal_batches in bulk and
 * then removed. A segment names its process, so one left by a crashed
 * process is known to need checking against the table.
 *
 * It holds hashes over whole batches, never record content nor a per-record
 * hash, so it needs no encryption at rest.
 */
export class SealJournal {
  private readonly processTag = randomBytes(4).toString('hex');
  private segment: string | undefined;
  private segmentCount = 0;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Durable against a process kill once it returns (the page cache, like the
   * engine's own parts). An append that fails (ENOSPC, EIO) may have written
   * part of its lines: they are cut off again, and the next append starts a
   * new segment all the same, so a torn line is only ever the last of its
   * segment (which read() leaves out) and never glued to the next seal.
   */
  append(seals: JournaledSeal[]): void {
    this.segment ??= join(this.dir, `${Date.now()}-${this.processTag}-${String(this.segmentCount++).padStart(6, '0')}.ndjson`);
    const bytes = Buffer.from(seals.map((seal) => `${JSON.stringify(seal)}\n`).join(''));
    const fd = openSync(this.segment, 'a', 0o600);
    let size: number | undefined;
    try {
      size = fstatSync(fd).size;
      for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
    } catch (error) {
      this.segment = undefined;
      try {
        if (size !== undefined) ftruncateSync(fd, size);
      } catch {
        // Left torn: the last line of a segment nothing appends to any more.
      }
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  /** Ends the segment being appended to; returns every finished segment, oldest first (a crashed process's too). */
  rotate(): string[] {
    this.segment = undefined;
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.ndjson'))
      .sort()
      .map((name) => join(this.dir, name));
  }

  /** Whether this process wrote the segment (so none of it can already be in the table). */
  ownSegment(path: string): boolean {
    return path.includes(`-${this.processTag}-`);
  }

  /**
   * A segment's seals. A last line cut short by a crash is left out: its
   * append never returned, so the batch's rows were never inserted.
   */
  read(path: string): JournaledSeal[] {
    const text = readFileSync(path, 'utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    return complete
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JournaledSeal);
  }

  /**
   * A segment's lines, each parsed and checked: seals to move, and lines no
   * table could take (cut-short last line excepted, as in read).
   */
  readChecked(path: string): { seals: { seal: JournaledSeal; line: string }[]; bad: { line: string; reason: string }[] } {
    const text = readFileSync(path, 'utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const out: ReturnType<SealJournal['readChecked']> = { seals: [], bad: [] };
    for (const line of complete.split('\n')) {
      if (line === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        out.bad.push({ line, reason: `not JSON: ${(error as Error).message}` });
        continue;
      }
      const problem = journaledSealProblem(value);
      if (problem) out.bad.push({ line, reason: problem });
      else out.seals.push({ seal: value as JournaledSeal, line });
    }
    return out;
  }

  /** The quarantine of this journal's data directory. */
  get quarantineDir(): string {
    return join(dirname(this.dir), 'quarantine', 'seal-journal');
  }

  /** Sets lines of a segment aside (one file per segment), so they never stop a start again; returns what was written. */
  quarantine(segment: string, entries: { line: string; reason: string }[]): QuarantinedSeal[] {
    mkdirSync(this.quarantineDir, { recursive: true, mode: 0o700 });
    const quarantinedAt = new Date().toISOString();
    const records = entries.map(({ line, reason }) => {
      let parsed: Partial<JournaledSeal> = {};
      try {
        const value = JSON.parse(line) as unknown;
        if (value && typeof value === 'object') parsed = value as Partial<JournaledSeal>;
      } catch {
        // Unparseable: kept as text only.
      }
      return {
        segment: basename(segment),
        quarantinedAt,
        chain: typeof parsed.chain_id === 'string' ? parsed.chain_id : undefined,
        batchSeq: typeof parsed.batch_seq === 'number' ? parsed.batch_seq : undefined,
        tenant: typeof parsed.tenant === 'string' ? parsed.tenant : undefined,
        reason,
        line: line.slice(0, 2000),
      };
    });
    const file = join(this.quarantineDir, `${basename(segment, '.ndjson')}-${Date.now()}.json`);
    writeFileSync(file, `${JSON.stringify(records, null, 1)}\n`, { mode: 0o600 });
    return records;
  }

  /** Every quarantined line of this data directory. */
  quarantined(): QuarantinedSeal[] {
    return readQuarantine(this.quarantineDir);
  }

  remove(path: string): void {
    unlinkSync(path);
  }
}

/** Quarantined journal lines under a quarantine directory (none when it does not exist). */
export function readQuarantine(dir: string): QuarantinedSeal[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .flatMap((name) => {
      try {
        return JSON.parse(readFileSync(join(dir, name), 'utf8')) as QuarantinedSeal[];
      } catch (error) {
        return [{ segment: name, quarantinedAt: '', reason: `quarantine file unreadable: ${(error as Error).message}`, line: '' }];
      }
    });
}
