/**
 * RFC 6587 framing of syslog over a byte stream, detected per frame:
 * octet counting (`LEN SP MSG`, the frame starts with a digit) or
 * terminated by LF or NUL (anything else): Python's SysLogHandler ends each
 * record with a NUL and no LF, several records per segment (rsyslog reads
 * them apart with `AddtlFrameDelimiter="0"`). winston-syslog ends records with
 * nothing at all by default (its `eol` option is empty): a record that starts
 * with a syslog header ends where the next header starts, and, from a sender
 * that has done so, the last one is handed over by `unterminated()` once the
 * sender falls silent. A frame is never dropped: a
 * length that is not followed by a space, or is larger than the limit, is read
 * as a terminated line instead, and an over-long line is cut at the limit.
 */
export class SyslogFrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** The terminator the last line ended with, searched for first: one bounded scan per line whichever a sender uses. */
  private lastTerminator = 0x0a;
  /**
   * Bytes at the start of the buffer already searched for a terminator and a
   * second header: a record arriving a few bytes at a time is searched once,
   * not again from its start at every chunk (quadratic in its length).
   */
  private scanned = 0;
  /** Whether this sender has sent records back to back, each ended by the next one's header. */
  private backToBack = false;
  /** Memory of our own that the buffer may lie in (see appended). */
  private owned: Buffer | undefined;

  constructor(private readonly maxFrameBytes: number) {}

  /** Appends bytes read from the connection; returns the frames they completed. */
  push(chunk: Buffer): string[] {
    this.buffer = this.buffer.length === 0 ? chunk : this.appended(chunk);
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
    this.scanned = 0;
    return rest.length > 0 ? [rest] : [];
  }

  /**
   * The record still waiting for its terminator, when it is a whole syslog
   * message (starts with a header), taken out of the buffer; the listener
   * calls this once the connection has been silent, so a sender that ends
   * records with nothing still has its last record read. Only once the
   * sender has shown that it does (a record ended by the next header): a
   * line dripping in from anyone else is never cut short by a pause.
   * undefined otherwise (an octet-counted frame or a line still arriving).
   */
  unterminated(): string | undefined {
    if (!this.backToBack || this.buffer.length === 0 || !headerAt(this.buffer, 0, this.buffer.length)) return undefined;
    return this.end()[0];
  }

  /**
   * The buffer with `chunk` after it: written in place when the buffer lies in
   * memory of our own with room after it, else copied into memory twice the
   * size. A record arriving a few bytes at a time costs linear time, not a
   * concat of everything so far at every chunk.
   */
  private appended(chunk: Buffer): Buffer {
    const { buffer, owned } = this;
    if (owned !== undefined && owned.buffer === buffer.buffer) {
      const end = buffer.byteOffset + buffer.length;
      if (end + chunk.length <= owned.length) {
        chunk.copy(owned, end);
        return owned.subarray(buffer.byteOffset, end + chunk.length);
      }
    }
    // Not from the shared pool: a view of pooled memory must never be written after its end.
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * (buffer.length + chunk.length), 4096));
    buffer.copy(grown, 0);
    chunk.copy(grown, buffer.length);
    this.owned = grown;
    return grown.subarray(0, buffer.length + chunk.length);
  }

  private take(length: number, skip: number): string {
    const frame = this.buffer.subarray(0, length).toString('utf8');
    this.buffer = this.buffer.subarray(length + skip);
    this.scanned = 0;
    return frame;
  }

  private next(): string | undefined {
    const { buffer } = this;
    // Separators left between frames (octet-counting senders may add LFs).
    let start = 0;
    while (start < buffer.length && (buffer[start] === 0x0a || buffer[start] === 0x0d || buffer[start] === 0x00)) start++;
    if (start > 0) {
      this.buffer = buffer.subarray(start);
      this.scanned = 0;
    }
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
    const newline = this.terminator(this.scanned);
    const next = this.nextHeader(this.scanned, newline < 0 ? this.buffer.length : newline);
    if (next > 0 && next <= this.maxFrameBytes) {
      this.backToBack = true;
      return this.take(next, 0).replace(/[\r\n]+$/, '');
    }
    if (newline < 0) {
      if (this.buffer.length >= this.maxFrameBytes) return this.take(this.maxFrameBytes, 0);
      // A header may straddle the end: its first bytes are searched again with the next chunk.
      this.scanned = Math.max(0, this.buffer.length - headerProbeBytes);
      return undefined;
    }
    const end = Math.min(newline, this.maxFrameBytes);
    const frame = this.take(end, newline <= this.maxFrameBytes ? 1 : 0);
    return frame.replace(/\r$/, '');
  }

  /**
   * Where a second syslog message starts, at or after `from` and before `limit`, in a record that starts
   * with a header (unterminated records back to back); -1 if none.
   */
  private nextHeader(from: number, limit: number): number {
    const { buffer } = this;
    if (buffer[0] !== 0x3c) return -1;
    // Only where a `<` is (memchr), not a regex over the whole line: most lines hold none after their PRI.
    const end = Math.min(limit, this.maxFrameBytes + 1);
    let at = buffer.indexOf(0x3c, Math.max(1, from));
    if (at < 0 || at >= end || !headerAt(buffer, 0, buffer.length)) return -1;
    for (; at >= 0 && at < end; at = buffer.indexOf(0x3c, at + 1)) {
      if (headerAt(buffer, at, end)) return at;
    }
    return -1;
  }

  /** Position of the first LF or NUL at or after `from`, -1 if neither has arrived. */
  private terminator(from: number): number {
    const first = this.buffer.indexOf(this.lastTerminator, from);
    const other = this.lastTerminator === 0x0a ? 0x00 : 0x0a;
    const before = (first < 0 ? this.buffer : this.buffer.subarray(0, first)).indexOf(other, from);
    if (before >= 0) {
      this.lastTerminator = other;
      return before;
    }
    return first;
  }
}

/**
 * The start of an RFC 5424 (`<PRI>1 2026-12-07T…`) or RFC 3164 (`<PRI>Dec  7 00:10:19 `) message:
 * strict enough that message text is not mistaken for one.
 */
const headerPattern = String.raw`<\d{1,3}>(?:1 \d{4}-\d\d-\d\dT\d\d:\d\d|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )`;
const syslogHeader = new RegExp(`^${headerPattern}`);
/** Longest header prefix the pattern needs to see. */
const headerProbeBytes = 32;

/** Whether a syslog header starts at `at` and lies before `end`. */
const headerAt = (buffer: Buffer, at: number, end: number) =>
  syslogHeader.test(buffer.subarray(at, Math.min(at + headerProbeBytes, end)).toString('latin1'));

const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;
