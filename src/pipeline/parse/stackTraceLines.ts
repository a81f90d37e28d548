/**
 * Which lines continue the log line before them because they belong to the
 * same stack trace: Java and Node frames, Python tracebacks, Go panics.
 * Shippers send one line per record; the trace must land as one record.
 */
export type TraceKind = '' | 'java' | 'python' | 'go';

const javaOrNodeFrame = /^\s+(at |\.\.\. \d+ (more|common frames omitted))|^(Caused by|\s+Suppressed): /;
/** Logback and log4j print the exception's qualified class on the line after the message. */
const javaException = /^([a-z][\w$]*\.)+[A-Z][\w$]*(Exception|Error|Throwable)(: |$)/;
const pythonFrame = /^( {2}File "| {4}|\s*\^+\s*$)/;
const pythonChain = /^(During handling of the above exception|The above exception was the direct cause)/;
const pythonException = /^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning|Iteration)\b/;
const goFrame = /^(\t|goroutine \d+ \[|created by |[\w./*()-]+\(.*\)$|\s*$|\[signal )/;

const maxFrameLength = 4096;

export interface StackTraceState {
  kind: TraceKind;
}

/**
 * Whether `line` continues the previous record; updates the state so a
 * Python traceback's closing `ValueError: …` and Go's goroutine dump join too.
 * `hasPrevious` says whether there is a record to continue.
 */
export function continuesStackTrace(line: string, hasPrevious: boolean, state: StackTraceState): boolean {
  // Frames are short; a long line is a new record (and never meets the frame regexes' backtracking).
  if (!hasPrevious || line.length > maxFrameLength) {
    state.kind = line.startsWith('panic: ') ? 'go' : '';
    return false;
  }
  if (line.startsWith('Traceback (most recent call last):')) {
    state.kind = 'python';
    return true;
  }
  switch (state.kind) {
    case 'python':
      // The state stays python after the exception line: a chained traceback follows a blank line.
      if (pythonFrame.test(line) || pythonChain.test(line) || pythonException.test(line) || line.length === 0) return true;
      break;
    case 'go':
      if (goFrame.test(line)) return true;
      break;
  }
  if (javaOrNodeFrame.test(line) || javaException.test(line)) {
    state.kind = 'java';
    return true;
  }
  state.kind = line.startsWith('panic: ') ? 'go' : '';
  return false;
}

/** Joins lines into records: each stack trace becomes part of the line that introduced it. */
export function joinStackTraces(lines: string[]): string[] {
  const joined: string[] = [];
  const state: StackTraceState = { kind: '' };
  for (const line of lines) {
    if (continuesStackTrace(line, joined.length > 0, state)) {
      joined[joined.length - 1] += `\n${line}`;
    } else {
      joined.push(line);
    }
  }
  return joined;
}
