import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { Source } from '../source.js';
import { LineSplitter } from './lineSplitter.js';
import type { ReadGate, RecordSink } from './recordSink.js';

/** Reads lines from a stream (standard input) until it ends; a stream has no identity to resume, so its ids are per run. */
export async function readStream(
  stream: Readable,
  resource: Record<string, string>,
  options: { maxLineBytes: number },
  sink: RecordSink,
  gate: ReadGate,
  onSource: (source: Source) => void,
): Promise<void> {
  const source = new Source(`stdin:${hostname()}:${process.pid}:${Date.now()}`, '-', resource, undefined);
  const splitter = new LineSplitter(options.maxLineBytes);
  let offset = 0;
  source.resumeOffset = () => splitter.pendingStart ?? offset;
  onSource(source);
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    splitter.push(bytes, offset, (text, at) => sink(source, text, at, undefined, undefined));
    offset += bytes.length;
    source.size = offset;
    await gate.afterChunk();
  }
  splitter.flush((text, at) => sink(source, text, at, undefined, undefined));
  source.active = false;
  gate.touch(source);
}
