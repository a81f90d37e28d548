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
