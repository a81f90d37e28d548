import { parseTimestampNanos } from '../../formats/timestamp.js';
import { unwrapContainerLine } from '../../formats/containerRecords.js';

/** A whole container line: its content, the offset of its first part, the runtime's time and stream. */
export type ContainerLineSink = (content: string, offset: number, time: bigint | undefined, stream: string | undefined) => void;

interface OpenLine {
  offset: number;
  time: string;
  parts: string[];
  bytes: number;
}

/**
 * Unwraps CRI and Docker json-file lines of one file and joins the parts the
 * runtime split (CRI `P`…`F`, Docker chunks without a newline) per stream,
 * across reads: the agent, unlike the server, may hold a part until its end
 * arrives. Lines in neither format pass through as they are.
 */
export class ContainerLineJoiner {
  private open = new Map<string, OpenLine>();

  constructor(private readonly maxLineBytes: number) {}

  /** Offset of the oldest part held back, or undefined. */
  get oldestHeld(): number | undefined {
    let oldest: number | undefined;
    for (const line of this.open.values()) if (oldest === undefined || line.offset < oldest) oldest = line.offset;
    return oldest;
  }

  push(text: string, offset: number, sink: ContainerLineSink): void {
    const line = unwrapContainerLine(text);
    if (!line) {
      sink(text, offset, undefined, undefined);
      return;
    }
    const pending = this.open.get(line.stream);
    if (!pending && !line.partial) {
      sink(line.content, offset, parseTimestampNanos(line.time), line.stream);
      return;
    }
    const joined = pending ?? { offset, time: line.time, parts: [], bytes: 0 };
    joined.parts.push(line.content);
    joined.bytes += line.content.length;
    if (line.partial && joined.bytes < this.maxLineBytes) {
      this.open.set(line.stream, joined);
      return;
    }
    this.open.delete(line.stream);
    sink(joined.parts.join(''), joined.offset, parseTimestampNanos(joined.time), line.stream);
  }

  /** Emits the parts still held: the file rotated before their last part came. */
  flush(sink: ContainerLineSink): void {
    for (const [stream, line] of this.open) sink(line.parts.join(''), line.offset, parseTimestampNanos(line.time), stream);
    this.open.clear();
  }
}
