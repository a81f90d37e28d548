import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { Source, type KeyValue } from '../source.js';
import type { ReadGate, RecordSink } from './recordSink.js';

export interface JournaldOptions {
  /** The journalctl binary. */
  journalctl: string;
  /** Journal files of this directory (`--directory`) instead of the local system journal. */
  directory: string | undefined;
  /** journalctl matches (`_SYSTEMD_UNIT=nginx.service`, `+` for OR). */
  matches: string[];
  /** Without a checkpoint: entries since this (`--since`). */
  since: string;
  resource: Record<string, string>;
}

/** Where the previous run left the journal: after this cursor, with these line counts. */
export interface JournaldResume {
  cursor: string | undefined;
  ackedCursor: string | undefined;
  linesRead: number;
  linesAcked: number;
}

/** Fields of `journalctl -o json` that are not passed on as attributes: the body, and the reader's own addressing. */
const notAttributes = new Set(['MESSAGE', '__CURSOR', '__REALTIME_TIMESTAMP', '__MONOTONIC_TIMESTAMP', '__SEQNUM', '__SEQNUM_ID']);
/** syslog PRIORITY (0 emerg … 7 debug) as OpenTelemetry severity number and text. */
const severities: [number, string][] = [
  [24, 'FATAL4'],
  [23, 'FATAL3'],
  [22, 'FATAL2'],
  [17, 'ERROR'],
  [13, 'WARN'],
  [10, 'INFO2'],
  [9, 'INFO'],
  [5, 'DEBUG'],
];
const restartDelayMs = 1000;

type JournalValue = string | number[] | null | (string | number[] | null)[];

/**
 * Reads the systemd journal through `journalctl -o json --follow` (the
 * journal's own reader, so every journal file format and compression is
 * handled by systemd). Reading resumes after the cursor of the last entry
 * already buffered or acknowledged; an entry's record id comes from its
 * position in the journal (writer id + sequence number), so an entry read
 * again after a crash gets the same id. When the buffer is full the pipe is
 * paused and journalctl blocks: backpressure, not memory.
 */
export class JournaldInput {
  readonly source: Source;
  private child: ChildProcess | undefined;
  private lastCursor: string | undefined;
  private closed = false;

  constructor(
    private readonly options: JournaldOptions,
    resume: JournaldResume,
    private readonly sink: RecordSink,
    private readonly gate: ReadGate,
    private readonly logger: Logger,
  ) {
    const key = `journald:${options.directory ?? 'local'}`;
    this.source = new Source(key, options.directory ?? 'journald', options.resource, undefined);
    this.lastCursor = resume.cursor;
    this.source.ackedCursor = resume.ackedCursor;
    this.source.linesRead = resume.linesRead;
    this.source.linesAcked = resume.linesAcked;
    this.source.resumeCursor = () => this.lastCursor;
  }

  start(): void {
    if (this.closed) return;
    const args = ['-o', 'json', '--follow', '--no-pager', '--all', '--lines=all'];
    if (this.options.directory) args.push('--directory', this.options.directory);
    args.push(...(this.lastCursor ? ['--after-cursor', this.lastCursor] : ['--since', this.options.since]));
    args.push(...this.options.matches);
    const child = spawn(this.options.journalctl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let errors = '';
    child.stderr!.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-2000)));
    child.once('error', (error) => this.logger.error({ err: error, journalctl: this.options.journalctl }, 'cannot run journalctl'));
    const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
    lines.on('line', (line) => {
      this.entry(line);
      // Backpressure: journalctl blocks on the full pipe until the buffer has room.
      if (!this.gate.canRead()) {
        lines.pause();
        void this.gate.afterChunk().then(() => lines.resume());
      }
    });
    child.once('close', (code) => {
      if (this.closed) return;
      this.logger.warn({ code, stderr: errors.trim() }, 'journalctl ended; starting it again after the last entry read');
      setTimeout(() => this.start(), restartDelayMs).unref();
    });
    this.logger.info({ args }, 'reading the journal');
  }

  close(): void {
    this.closed = true;
    this.child?.kill('SIGTERM');
  }

  private entry(line: string): void {
    let fields: Record<string, JournalValue>;
    try {
      fields = JSON.parse(line) as Record<string, JournalValue>;
    } catch {
      this.logger.warn({ line: line.slice(0, 200) }, 'journalctl printed a line that is not JSON; skipped');
      return;
    }
    const cursor = fields.__CURSOR;
    if (typeof cursor !== 'string') return;
    const { seqnumId, seqnum } = position(cursor);
    const attributes: KeyValue[] = [];
    for (const [name, value] of Object.entries(fields)) {
      if (notAttributes.has(name)) continue;
      attributes.push({ key: `journald.${name}`, value: { stringValue: text(value) } });
    }
    const realtime = fields.__REALTIME_TIMESTAMP;
    const time = typeof realtime === 'string' && /^\d+$/.test(realtime) ? BigInt(realtime) * 1000n : undefined;
    const priority = Number(fields.PRIORITY);
    const severity = Number.isInteger(priority) && priority >= 0 && priority <= 7 ? severities[priority] : undefined;
    this.lastCursor = cursor;
    this.source.size = seqnum;
    this.sink(this.source, text(fields.MESSAGE ?? ''), seqnum, time, attributes, {
      uid: `${this.source.uidPrefix}-${seqnumId}-${seqnum}`,
      ...(severity && { severityNumber: severity[0], severityText: severity[1] }),
    });
  }
}

/** The writer id (`s=`) and sequence number (`i=`, hex) of a journal cursor. */
function position(cursor: string): { seqnumId: string; seqnum: number } {
  let seqnumId = '';
  let seqnum = 0;
  for (const part of cursor.split(';')) {
    if (part.startsWith('s=')) seqnumId = part.slice(2, 18);
    else if (part.startsWith('i=')) seqnum = parseInt(part.slice(2), 16);
  }
  return { seqnumId, seqnum };
}

/** journalctl prints a field that is not valid UTF-8 as an array of bytes, and a repeated field as an array of values. */
function text(value: JournalValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (value.length > 0 && value.every((item) => typeof item === 'number')) return Buffer.from(value as number[]).toString('utf8');
  return (value as (string | number[] | null)[]).map((item) => text(item)).join('\n');
}
