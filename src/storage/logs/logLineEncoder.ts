import { closingPrefix } from './logRows.js';

/**
 * The lines of a group commit, encoded once into one buffer: the bytes
 * inserted are the bytes sealed, each line's end is kept for its
 * fingerprint, and no closed line string is built only to be encoded again.
 */
export class LogLineEncoder {
  private buffer: Buffer;
  private length = 0;

  /** `expectedChars`: the open rows' total length, the buffer's first size (UTF-8 grows it only for non-ASCII text). */
  constructor(expectedChars: number) {
    this.buffer = Buffer.allocUnsafe(expectedChars + 64 * 1024);
  }

  get offset(): number {
    return this.length;
  }

  /**
   * Appends the line `closeLogRow(openRow, { chainId, batchSeq, batchPos })`
   * (prefix from `closingPrefix(chainId, batchSeq)`); returns where it ends.
   */
  append(openRow: string, prefix: string, batchPos: number): number {
    const closing = `${prefix}${batchPos}}\n`;
    // A UTF-16 code unit never takes more than 3 bytes of UTF-8.
    this.reserve(3 * (openRow.length + closing.length));
    this.length += this.buffer.write(openRow, this.length);
    this.length += this.buffer.write(closing, this.length);
    return this.length;
  }

  /** The encoded lines so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.buffer.length - this.length >= bytes) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
