import { syslogRecord } from '../../formats/syslog.js';
import { newParsedLine, type ParsedLine } from './parsedLine.js';

const bsdFileLine = /^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} /;

/**
 * A syslog message carried as a body (shipped from a file or relayed): with
 * its `<PRI>` (RFC 5424 or 3164), or as syslog daemons write files
 * (`Nov 25 12:00:00 host sshd[81]: …`, no PRI, so no level). Parsed by the
 * syslog receiver's own parser; the body becomes the MSG part.
 */
export function parseSyslogBody(line: string): ParsedLine | undefined {
  const withPri = line.charCodeAt(0) === 60; /* < */
  if (!withPri && !bsdFileLine.test(line)) return undefined;
  const now = BigInt(Date.now()) * 1_000_000n;
  // <13> (user.notice) stands in for the PRI a file line lacks; its facility and level are dropped below.
  const record = syslogRecord(withPri ? line : `<13>${line}`, { tenant: '', receiver: '', peer: '', receivedUnixNano: now });
  const attributes = record.attributes;
  if (attributes['syslog.parse_error'] !== undefined) return undefined;
  const out = newParsedLine('syslog', '');
  for (const key in attributes) {
    if (key !== 'client.address' && (withPri || (key !== 'syslog.facility' && key !== 'syslog.severity')))
      out.attributes[key] = attributes[key];
  }
  if (withPri) out.level = record.severityText;
  out.time = record.timeUnixNano.toString();
  out.message = record.body;
  return out;
}
