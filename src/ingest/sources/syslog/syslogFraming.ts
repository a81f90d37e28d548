/**
 * RFC 6587 framing of syslog over a byte stream, detected per frame:
 * octet counting (`LEN SP MSG`, the frame starts with a digit) or
 * terminated by LF or NUL (anything else): Python's SysLogHandler ends each
 * record with a NUL and no LF, several records per segment (rsyslog reads
 * them apart with `AddtlFrameDelimiter="0"`). A frame is never dropped: a
 * length that is not followed by a space, or is larger than the limit, is read
 * as a terminated line instead, and an over-long line is cut at the limit.
 */
export class SyslogFrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** The terminator the last line ended with, searched for first: one bounded scan per line whichever a sender uses. */
  private lastTerminator = 0x0a;

  constructor(private readonly maxFrameBytes: number) {}

  /** Appends bytes read from the connection; returns the frames they completed. */
  push(chunk: Buffer): string[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: string[] = [];
    for (;;) {
      const frame = this.next();
      if (frame === undefined) break;
      if (frame.length > 0) frames.push(frame);
    }
    return frames;
  }

  /** The connection ended: whatever is left is the last frame (a line without its LF, or a cut-short frame). */
  end(): string[] {
    const rest = this.buffer.toString('utf8').replace(/[\r\n\0]+$/, '');
    this.buffer = Buffer.alloc(0);
    return rest.length > 0 ? [rest] : [];
  }

  private take(length: number, skip: number): string {
    const frame = this.buffer.subarray(0, length).toString('utf8');
    this.buffer = this.buffer.subarray(length + skip);
    return frame;
  }

  private next(): string | undefined {
    const { buffer } = this;
    // Separators left between frames (octet-counting senders may add LFs).
    let start = 0;
    while (start < buffer.length && (buffer[start] === 0x0a || buffer[start] === 0x0d || buffer[start] === 0x00)) start++;
    if (start > 0) this.buffer = buffer.subarray(start);
    if (this.buffer.length === 0) return undefined;

    if (isDigit(this.buffer[0])) {
      let digits = 1;
      while (digits < this.buffer.length && digits < 10 && isDigit(this.buffer[digits])) digits++;
      if (digits === this.buffer.length) return undefined; // the length itself is still arriving
      if (this.buffer[digits] === 0x20) {
        const length = Number(this.buffer.subarray(0, digits).toString('latin1'));
        if (length > 0 && length <= this.maxFrameBytes) {
          if (this.buffer.length < digits + 1 + length) return undefined;
          this.buffer = this.buffer.subarray(digits + 1);
          return this.take(length, 0).replace(/[\r\n]+$/, '');
        }
      }
    }
    const newline = this.terminator();
    if (newline < 0) return this.buffer.length >= this.maxFrameBytes ? this.take(this.maxFrameBytes, 0) : undefined;
    const end = Math.min(newline, this.maxFrameBytes);
    const frame = this.take(end, newline <= this.maxFrameBytes ? 1 : 0);
    return frame.replace(/\r$/, '');
  }

  /** Position of the first LF or NUL, -1 if neither has arrived. */
  private terminator(): number {
    const first = this.buffer.indexOf(this.lastTerminator);
    const other = this.lastTerminator === 0x0a ? 0x00 : 0x0a;
    const before = (first < 0 ? this.buffer : this.buffer.subarray(0, first)).indexOf(other);
    if (before >= 0) {
      this.lastTerminator = other;
      return before;
    }
    return first;
  }
}

const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;
