/**
 * Progress of a long CLI operation for a person watching a terminal: one
 * status line on stderr, rewritten in place (what is being done, counts so
 * far, time taken), then a final summary line. When stderr is not a terminal
 * (scripts, CI, pipes) it prints nothing: the command's own output on stdout
 * is the record.
 */
export interface Progress {
  /** The current step, e.g. `logs: 12000 rows`. */
  update(step: string): void;
  /** Ends the status line with a summary (✔ … in 3.2 s). */
  done(summary: string): void;
  /** Clears the status line so a line can be printed on the terminal; it is drawn again at the next tick. */
  clear(): void;
  /** Ends the status line after a failure (the error itself is reported by the caller). */
  fail(): void;
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

export function progress(title: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => undefined, clear: () => undefined, done: () => undefined, fail: () => undefined };
  const started = Date.now();
  let step = '';
  let frame = 0;
  let ended = false;
  const width = () => Math.max(20, (stream.columns || 80) - 1);
  const draw = () => {
    const line = `${frames[frame++ % frames.length]} ${title}${step ? `: ${step}` : ''} (${seconds(Date.now() - started)})`;
    stream.write(`\r\x1b[K${line.length > width() ? `${line.slice(0, width() - 1)}…` : line}`);
  };
  // Redrawn while nothing reports (a server generating a report, chDB copying a table): the clock shows it is alive.
  const timer = setInterval(draw, 250);
  timer.unref();
  draw();
  const end = (mark: string, text: string) => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    stream.write(`\r\x1b[K${mark} ${title}: ${text} (${seconds(Date.now() - started)})\n`);
  };
  return {
    update: (next) => {
      step = next;
      draw();
    },
    clear: () => {
      if (!ended) stream.write('\r\x1b[K');
    },
    done: (summary) => end('✔', summary),
    fail: () => end('✘', step ? `stopped at ${step}` : 'failed'),
  };
}

/** Runs `work` under a progress line: done with `summary(result)`, or failed when it throws. */
export async function withProgress<T>(title: string, work: (progress: Progress) => Promise<T>, summary: (result: T) => string): Promise<T> {
  const shown = progress(title);
  try {
    const result = await work(shown);
    shown.done(summary(result));
    return result;
  } catch (error) {
    shown.fail();
    throw error;
  }
}
