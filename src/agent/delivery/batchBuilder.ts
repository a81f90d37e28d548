import type { KeyValue, Source } from '../source.js';
import type { FrameSource } from './frameSource.js';

/** A protobufjs 64-bit value; built once per read, not parsed from a string per record. */
export interface Fixed64 {
  low: number;
  high: number;
  unsigned: true;
}

export function fixed64(nanos: bigint): Fixed64 {
  return { low: Number(nanos & 0xffffffffn) | 0, high: Number(nanos >> 32n) | 0, unsigned: true };
}

export interface OtlpRecord {
  timeUnixNano?: Fixed64;
  severityNumber?: number;
  severityText?: string;
  observedTimeUnixNano: Fixed64;
  body: { stringValue: string };
  attributes: KeyValue[];
}

/** A cut batch: the OTLP records per source and what each source's checkpoint becomes once it is acknowledged. */
export interface Batch {
  bySource: Map<Source, OtlpRecord[]>;
  sources: FrameSource[];
  records: number;
}

/**
 * Collects lines into the next batch. cut() snapshots every source's resume
 * offset in the same synchronous step that takes the records, so a batch's
 * checkpoints never cover lines that are not in it or an earlier batch.
 */
export class BatchBuilder {
  private bySource = new Map<Source, OtlpRecord[]>();
  private lines = new Map<Source, number>();
  records = 0;
  bytes = 0;
  /** When the first line of the open batch arrived (ms on the monotonic clock, performance.now()), 0 when empty. */
  openedAt = 0;

  constructor(private readonly limits: { maxRecords: number; maxBytes: number }) {}

  get isFull(): boolean {
    return this.records >= this.limits.maxRecords || this.bytes >= this.limits.maxBytes;
  }

  add(source: Source, record: OtlpRecord): void {
    let records = this.bySource.get(source);
    if (!records) {
      records = [];
      this.bySource.set(source, records);
    }
    records.push(record);
    this.lines.set(source, (this.lines.get(source) ?? 0) + 1);
    source.linesRead++;
    if (this.records === 0) this.openedAt = performance.now();
    this.records++;
    this.bytes += record.body.stringValue.length + 64;
  }

  /** Takes the open batch; `touched` are sources that moved their offset without a line (held bytes emitted, truncation). */
  cut(touched: Iterable<Source>): Batch {
    const sources: FrameSource[] = [];
    const seen = new Set<Source>();
    for (const source of [...this.bySource.keys(), ...touched]) {
      if (seen.has(source)) continue;
      seen.add(source);
      const identity = source.identity;
      sources.push({
        key: source.key,
        path: source.path,
        ...(identity && { dev: identity.dev, ino: identity.ino, fp: identity.fp, fp_len: identity.fpLen, born: identity.born }),
        offset: source.resumeOffset(),
        ...(source.resumeCursor && { cursor: source.resumeCursor() }),
        lines: this.lines.get(source) ?? 0,
      });
    }
    const batch = { bySource: this.bySource, sources, records: this.records };
    this.bySource = new Map();
    this.lines = new Map();
    this.records = 0;
    this.bytes = 0;
    this.openedAt = 0;
    return batch;
  }
}
