import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StoredBatch } from './sealStore.js';

/**
 * A batch seal as journaled: its seal_batches row without the per-record
 * fingerprints, `committed_at` as Unix seconds with milliseconds.
 */
export type JournaledSeal = StoredBatch;

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
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
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
    return complete.split('\n').filter(Boolean).map((line) => JSON.parse(line) as JournaledSeal);
  }

  remove(path: string): void {
    unlinkSync(path);
  }
}
