import type { Batch } from './batchBuilder.js';

/** What the server's answer to a batch means for it. */
export type Verdict =
  { kind: 'ok'; warning?: string } | { kind: 'refused'; reason: string } | { kind: 'retry'; reason: string; retryAfter?: string | null };

/**
 * One way of shipping batches: where to, in which encoding, and how to read
 * a 2xx answer (some protocols report per-record failures inside it). The
 * batch is encoded when it is buffered, so what is re-sent is byte for byte
 * what was sent first.
 */
export interface AgentOutput {
  name: string;
  url: string;
  contentType: string;
  /** Content-Encoding of the body; none when the protocol compresses it itself (Loki's snappy protobuf). */
  contentEncoding: 'gzip' | undefined;
  /** The request body, compressed. */
  encode: (batch: Batch) => Promise<Buffer>;
  /** Reads a 2xx answer's body. */
  judge: (answer: Buffer) => Verdict;
}

/** A protobufjs fixed64 as nanoseconds. */
export function nanos(value: { low: number; high: number }): bigint {
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}
