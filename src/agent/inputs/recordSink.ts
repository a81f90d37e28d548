import type { KeyValue, Source } from '../source.js';

/** What an input knows of a record beyond its text: its own id (else `<source>-<offset>`), its severity. */
export interface RecordDetails {
  uid?: string;
  severityNumber?: number;
  severityText?: string;
}

/** Where inputs hand each line: its source, text, start offset, and what the line itself said (time, attributes). */
export type RecordSink = (
  source: Source,
  body: string,
  offset: number,
  time: bigint | undefined,
  attributes: KeyValue[] | undefined,
  details?: RecordDetails,
) => void;

/** What the reading loop asks before and after each chunk: backpressure lives here. */
export interface ReadGate {
  /** False while the batch pipeline is saturated (disk buffer full): stop reading. */
  canRead(): boolean;
  /** Called after each chunk: seals a full batch and waits while the buffer is full. */
  afterChunk(): Promise<void>;
  /** A source moved its offset or ended without a line in the open batch. */
  touch(source: Source): void;
}
