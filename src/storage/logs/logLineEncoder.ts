import { compactClosingPrefix } from './compactLogRow.js';

/** UTF-8 appended to one buffer, which doubles when it has to grow. */
class GrowingBuffer {
  buffer: Buffer;
  length = 0;

  constructor(expectedBytes: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(expectedBytes, 1024));
  }

  writeText(text: string): void {
    // A UTF-16 code unit never takes more than 3 bytes of UTF-8.
    this.reserve(3 * text.length);
    this.length += this.buffer.write(text, this.length);
  }

  reserve(bytes: number): void {
    if (this.buffer.length - this.length >= bytes) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** A write's open rows (`openCompactLogRow`) as UTF-8, back to back, and where each ends. */
export interface EncodedOpenRows {
  bytes: Buffer;
  ends: Uint32Array;
}

/**
 * Encodes a write's open rows to UTF-8 as it is queued: the rows wait for
 * their commit as one buffer outside the JavaScript heap, not as a string
 * each that the garbage collector would carry to the old generation and
 * then have to sweep.
 */
export class OpenRowEncoder {
  private readonly out: GrowingBuffer;
  private readonly ends: Uint32Array;
  private count = 0;

  /** `rows`: how many rows will be appended; `expectedBytes`: their total, the buffer's first size. */
  constructor(rows: number, expectedBytes: number) {
    this.out = new GrowingBuffer(expectedBytes);
    this.ends = new Uint32Array(rows);
  }

  append(openRow: string): void {
    this.out.writeText(openRow);
    this.ends[this.count++] = this.out.length;
  }

  /** The rows appended, in a buffer no larger than they need when the first size was far off. */
  finish(): EncodedOpenRows {
    const { buffer, length } = this.out;
    const bytes = buffer.length > 2 * length + 4096 ? Buffer.from(buffer.subarray(0, length)) : buffer.subarray(0, length);
    return { bytes, ends: this.ends.subarray(0, this.count) };
  }
}

/** `compactClosingPrefix` of one chain batch as UTF-8, written once per batch. */
export function compactClosingPrefixBytes(chainId: string, batchSeq: number): Buffer {
  return Buffer.from(compactClosingPrefix(chainId, batchSeq));
}

const closeBracket = 0x5d;
const newline = 0x0a;
const zero = 0x30;

/**
 * The lines of a group commit, encoded once into one buffer: the bytes
 * inserted are the bytes sealed, each line's end is kept for its
 * fingerprint. Each line is an open row's bytes copied as they were queued,
 * then its chain position: no string is built per line at commit.
 */
export class LogLineEncoder {
  private readonly out: GrowingBuffer;

  /** `expectedBytes`: the open rows' total bytes, the buffer's first size (the chain positions take a little more). */
  constructor(expectedBytes: number) {
    this.out = new GrowingBuffer(expectedBytes + 64 * 1024);
  }

  get offset(): number {
    return this.out.length;
  }

  /**
   * Appends the line `closeCompactLogRow(openRow, { chainId, batchSeq, batchPos })`,
   * the open row being row `index` of `rows` and `prefix` from
   * `compactClosingPrefixBytes(chainId, batchSeq)`; returns where the line ends.
   */
  append(rows: EncodedOpenRows, index: number, prefix: Buffer, batchPos: number): number {
    const start = index === 0 ? 0 : rows.ends[index - 1];
    const end = rows.ends[index];
    // 10 digits hold any batch position (a Uint32Array holds the line ends).
    this.out.reserve(end - start + prefix.length + 12);
    const { buffer } = this.out;
    let at = this.out.length;
    at += rows.bytes.copy(buffer, at, start, end);
    at += prefix.copy(buffer, at);
    at = writeDecimal(buffer, at, batchPos);
    buffer[at++] = closeBracket;
    buffer[at++] = newline;
    this.out.length = at;
    return at;
  }

  /** The encoded lines so far (a view, not a copy). */
  bytes(): Buffer {
    return this.out.buffer.subarray(0, this.out.length);
  }
}

/** Writes a non-negative integer in ASCII decimal, as `${value}` spells it; returns where it ends. */
function writeDecimal(buffer: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = at + digits - 1, rest = value; i >= at; i--, rest = Math.floor(rest / 10)) buffer[i] = zero + (rest % 10);
  return at + digits;
}
