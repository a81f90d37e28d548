import { EventSourceParserStream } from 'eventsource-parser/stream';
import { serverError } from './serverClient.js';

export interface TailedEntry {
  ts: string;
  line: string;
  labels: Record<string, string>;
}

interface TailFrame {
  streams: { stream: Record<string, string>; values: [string, string][] }[];
  dropped_lines?: number;
}

/**
 * Follows a server's live tail (`/api/v1/tail`, Server-Sent Events) until
 * the server ends it; each line goes to `print` in commit order, lost lines
 * are reported on stderr.
 */
export async function followTail(
  server: string,
  params: URLSearchParams,
  headers: Record<string, string>,
  print: (entry: TailedEntry) => void,
): Promise<void> {
  const response = await fetch(`${server.replace(/\/$/, '')}/api/v1/tail?${params}`, {
    headers: { ...headers, accept: 'text/event-stream' },
  });
  if (!response.ok || !response.body) throw serverError(response.status, await response.text(), headers.authorization);
  const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  for (;;) {
    const { done, value: event } = await events.read();
    if (done) return;
    const frame = JSON.parse(event.data) as TailFrame;
    const entries = frame.streams.flatMap((stream) => stream.values.map(([ts, line]) => ({ ts, line, labels: stream.stream })));
    entries.sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : BigInt(a.ts) > BigInt(b.ts) ? 1 : 0));
    for (const entry of entries) print(entry);
    if (frame.dropped_lines) process.stderr.write(`meshlog: ${frame.dropped_lines} lines dropped: this tail fell behind\n`);
  }
}
