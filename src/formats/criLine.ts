/** One line of a CRI container log file: `<RFC3339Nano> <stdout|stderr> <P|F> <content>`. */
export interface CriLine {
  time: string;
  stream: 'stdout' | 'stderr';
  /** `P`: containerd split a long line here (at 16 KiB); the rest follows on the next line of the same stream. */
  partial: boolean;
  content: string;
}

export function parseCriLine(line: string): CriLine | undefined {
  // Cheap shape check before any slicing: `2016-10-06T00:17:09…Z stdout F …`.
  if (line.charCodeAt(4) !== 45 || line.charCodeAt(10) !== 84) return undefined;
  const timeEnd = line.indexOf(' ');
  if (timeEnd < 20 || timeEnd > 40) return undefined;
  let stream: 'stdout' | 'stderr';
  if (line.startsWith(' stdout ', timeEnd)) stream = 'stdout';
  else if (line.startsWith(' stderr ', timeEnd)) stream = 'stderr';
  else return undefined;
  const tagsStart = timeEnd + 8;
  let tagsEnd = line.indexOf(' ', tagsStart);
  if (tagsEnd < 0) tagsEnd = line.length;
  const tags = line.slice(tagsStart, tagsEnd);
  // Tags are `:`-separated; the first is P or F.
  const tag = tags.charCodeAt(0);
  if (tag !== 80 && tag !== 70) return undefined;
  let end = line.length;
  if (line.charCodeAt(end - 1) === 10) end--;
  return { time: line.slice(0, timeEnd), stream, partial: tag === 80, content: line.slice(Math.min(tagsEnd + 1, end), end) };
}

/**
 * Joins P…F sequences per stream (stdout and stderr interleave in one file):
 * each result is a whole line stamped with the time of its first part.
 * Parts still open at the end are returned as they are, marked partial.
 */
export function joinCriPartials(lines: CriLine[]): CriLine[] {
  const joined: CriLine[] = [];
  const open: Partial<Record<'stdout' | 'stderr', { first: CriLine; parts: string[] }>> = {};
  for (const line of lines) {
    const pending = open[line.stream];
    if (line.partial) {
      if (pending) pending.parts.push(line.content);
      else open[line.stream] = { first: line, parts: [line.content] };
      continue;
    }
    if (pending) {
      pending.parts.push(line.content);
      joined.push({ time: pending.first.time, stream: line.stream, partial: false, content: pending.parts.join('') });
      open[line.stream] = undefined;
    } else {
      joined.push(line);
    }
  }
  for (const pending of [open.stdout, open.stderr]) {
    if (pending) joined.push({ ...pending.first, content: pending.parts.join('') });
  }
  return joined;
}
