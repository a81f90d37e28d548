/** Receives each line with the byte offset where it starts and where the next one starts. */
export type LineSink = (text: string, offset: number, end: number, partial: boolean) => void;

/**
 * Cuts a byte stream into lines. Bytes after the last newline are held (copied,
 * so the caller may reuse its read buffer) until the rest arrives or flush() is
 * called; a line longer than maxLineBytes is cut into pieces marked partial.
 */
export class LineSplitter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private heldStart = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Offset of the first byte held back, or undefined when nothing is held. */
  get pendingStart(): number | undefined {
    return this.heldBytes > 0 ? this.heldStart : undefined;
  }

  push(chunk: Buffer, chunkOffset: number, sink: LineSink): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline < 0) break;
      const end = chunkOffset + newline + 1;
      if (this.heldBytes > 0) {
        // Nothing is held any more when the sink runs: a batch cut inside it must resume after this line.
        this.held.push(chunk.subarray(start, newline));
        const whole = Buffer.concat(this.held);
        const length = this.heldBytes + newline - start;
        this.held = [];
        this.heldBytes = 0;
        sink(textOf(whole, 0, length), this.heldStart, end, false);
      } else {
        sink(textOf(chunk, start, newline), chunkOffset + start, end, false);
      }
      start = newline + 1;
    }
    if (start >= chunk.length) return;
    if (this.heldBytes === 0) this.heldStart = chunkOffset + start;
    this.held.push(Buffer.from(chunk.subarray(start)));
    this.heldBytes += chunk.length - start;
    while (this.heldBytes >= this.maxLineBytes) {
      const all = Buffer.concat(this.held);
      const pieceStart = this.heldStart;
      this.heldStart += this.maxLineBytes;
      this.heldBytes -= this.maxLineBytes;
      this.held = this.heldBytes > 0 ? [all.subarray(this.maxLineBytes)] : [];
      sink(all.toString('utf8', 0, this.maxLineBytes), pieceStart, pieceStart + this.maxLineBytes, true);
    }
  }

  /** Emits the held bytes as a line: the file rotated or ended without a final newline. */
  flush(sink: LineSink): void {
    if (this.heldBytes === 0) return;
    const all = Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    sink(textOf(all, 0, all.length), this.heldStart, this.heldStart + all.length, false);
  }
}

/** The line's text without its CR of a CRLF ending. */
function textOf(buffer: Buffer, start: number, end: number): string {
  return buffer.toString('utf8', start, end > start && buffer[end - 1] === 13 ? end - 1 : end);
}
