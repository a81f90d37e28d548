import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { scrubText, scrubValue } from './credentialScrubber.js';

export type LogFormat = 'json' | 'pretty';

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line carries, or that the pretty line shows in its own place. */
const hidden = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/** One pino JSON line as a person reads it: `12:04:05 WARN  message key=value …`. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const level = (levelNames[entry.level as number] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !hidden.has(key))
    .map(([key, value]) => {
      if (key === 'err' && value && typeof value === 'object')
        return `error=${JSON.stringify((value as { message?: string }).message ?? value)}`;
      return `${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`;
    });
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}

/** JSON for machines (the default when stdout is not a terminal), or one readable line per entry. */
export function defaultLogFormat(stdoutIsTty = Boolean(process.stdout.isTTY)): LogFormat {
  return stdoutIsTty ? 'pretty' : 'json';
}

/**
 * meshlog's own structured logs: JSON lines on stdout (or pretty lines for
 * people), secrets redacted: known secret fields by path, and every field and
 * message scrubbed of credentials (keys in URLs, tokens in error texts) by the
 * same scrubber the audit trail uses.
 */
export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'meshlog' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'token',
        '*.token',
        'adminToken',
        'secret_access_key',
        '*.secret_access_key',
        '*.*.secret_access_key',
      ],
      censor: '[redacted]',
    },
    formatters: { log: (object) => scrubValue(object) },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg)) as Parameters<typeof method>);
      },
    },
  };
  if (format === 'json') return pino(options);
  const pretty: DestinationStream = { write: (line: string) => void process.stdout.write(prettyLine(line)) };
  return pino(options, pretty);
}
