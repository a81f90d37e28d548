/** One line of Docker's json-file log driver: `{"log":"content\n","stream":"stdout","time":"…"}`. */
export interface DockerLogLine {
  time: string;
  stream: string;
  /** No trailing newline in `log`: Docker split a long line (at 16 KiB) and the rest follows. */
  partial: boolean;
  content: string;
}

export function parseDockerJsonLine(object: Record<string, unknown>): DockerLogLine | undefined {
  const { log, stream, time } = object;
  if (typeof log !== 'string' || typeof stream !== 'string' || typeof time !== 'string') return undefined;
  const complete = log.endsWith('\n');
  return { time, stream, partial: !complete, content: complete ? log.slice(0, log.endsWith('\r\n') ? -2 : -1) : log };
}
