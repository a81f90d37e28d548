/**
 * OpenTelemetry severity numbers from the level words shippers send
 * (`warn`, `ERROR`, `crit`, `notice`…); 0 = unknown, left for the reader.
 */
const severityByWord: Record<string, number> = {
  trace: 1,
  debug: 5,
  dbg: 5,
  info: 9,
  information: 9,
  informational: 9,
  notice: 10,
  warn: 13,
  warning: 13,
  error: 17,
  err: 17,
  crit: 18,
  critical: 18,
  alert: 19,
  emerg: 21,
  emergency: 21,
  fatal: 21,
  panic: 21,
};

export function severityFromText(text: string): number {
  return severityByWord[text.trim().toLowerCase()] ?? 0;
}

/** Syslog severities 0 (emerg) … 7 (debug), as RFC 5424 numbers them. */
const syslogSeverities = [21, 19, 18, 17, 13, 10, 9, 5];
export const syslogSeverityNames = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

export function severityFromSyslog(severity: number): number {
  return syslogSeverities[severity] ?? 0;
}

/**
 * Loki's detected_level vocabulary (trace, debug, info, warn, error, critical,
 * fatal) for the level words shippers send. Loki's own synonyms (its
 * distributor's normalizeLogLevel: trc, dbg, inf, information, wrn, warning,
 * err), syslog's severity names (notice → info; crit and alert → critical;
 * emerg → fatal) and pino/bunyan's numeric levels (10 … 60).
 */
export const lokiLevelByWord: Readonly<Record<string, string>> = {
  trace: 'trace',
  trc: 'trace',
  '10': 'trace',
  debug: 'debug',
  dbg: 'debug',
  '20': 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  '30': 'info',
  warn: 'warn',
  wrn: 'warn',
  warning: 'warn',
  '40': 'warn',
  error: 'error',
  err: 'error',
  '50': 'error',
  critical: 'critical',
  crit: 'critical',
  alert: 'critical',
  fatal: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
  '60': 'fatal',
};

/**
 * A record's detected_level: its level word in Loki's vocabulary, else its
 * severity number by the ranges Loki applies to OTLP, else the word as sent
 * (Loki keeps a level it does not know); '' when there is no level at all.
 * The logs table computes the same in SQL (detectedLevelSql).
 */
export function detectedLevelOf(severityText: string, severityNumber: number): string {
  const word = lokiLevelByWord[severityText.toLowerCase()];
  if (word !== undefined) return word;
  const n = severityNumber;
  if (n >= 1) return n >= 21 ? 'fatal' : n >= 17 ? 'error' : n >= 13 ? 'warn' : n >= 9 ? 'info' : n >= 5 ? 'debug' : 'trace';
  return severityText;
}

/** detectedLevelOf as a ClickHouse expression over the logs columns severity_text and severity_number. */
export function detectedLevelSql(): string {
  const words = Object.keys(lokiLevelByWord);
  const keys = `[${words.map((word) => `'${word}'`).join(', ')}]`;
  const values = `[${words.map((word) => `'${lokiLevelByWord[word]}'`).join(', ')}]`;
  return `multiIf(has(${keys}, lower(severity_text)), transform(lower(severity_text), ${keys}, ${values}, ''),
    severity_number >= 21, 'fatal', severity_number >= 17, 'error', severity_number >= 13, 'warn',
    severity_number >= 9, 'info', severity_number >= 5, 'debug', severity_number >= 1, 'trace', severity_text)`;
}
