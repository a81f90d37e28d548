import { newLogRecord, type LogRecord } from '../model/logRecord.js';
import { severityFromSyslog, syslogSeverityNames } from '../model/severity.js';
import { zonedWallTimeToUtc } from './zonedWallTime.js';

/**
 * Syslog messages (RFC 5424, and RFC 3164 as real senders write it) → records.
 * A message that cannot be parsed is still a record: body = the raw line,
 * `syslog.parse_error` = why, so nothing a device sent is lost.
 */

const facilityNames = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface SyslogSource {
  tenant: string;
  receiver: string;
  /** The sender's `address:port`: syslog has no credentials, so where it came from is the provenance. */
  peer: string;
  /** Now, in ns; RFC 3164 timestamps have no year and are placed relative to it. */
  receivedUnixNano: bigint;
  /** The IANA zone RFC 3164 timestamps are in (they carry none): the senders' clock. UTC when absent. */
  timeZone?: string;
}

/** Why a message is not valid syslog; not an Error, so no stack is captured for every bad line. */
class ParseError {
  constructor(readonly message: string) {}
}

interface Parsed {
  timeUnixNano: bigint | undefined;
  message: string;
  hostname: string;
  appName: string;
  attributes: Record<string, string>;
}

/** RFC 3339 (5424's TIMESTAMP, also used by rsyslog in 3164-style lines) → ns. */
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function rfc3339Nanos(text: string): bigint | undefined {
  const match = rfc3339.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone] = match;
  // setUTCFullYear, not Date.UTC alone: Date.UTC reads years 0-99 as 1900-1999 (0001 would become 1901).
  const date = new Date(Date.UTC(2000, Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  date.setUTCFullYear(Number(year));
  let millis = date.getTime();
  if (Number.isNaN(millis) || Number(month) > 12 || Number(day) > 31 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60)
    return undefined;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    millis -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return BigInt(millis) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** `Mmm dd hh:mm:ss` has no year or zone: in the senders' zone, in the year that puts it nearest to now. */
function bsdNanos(month: string, day: string, time: string, now: bigint, timeZone: string): bigint | undefined {
  const monthIndex = months.indexOf(month);
  const [hour, minute, second] = time.split(':').map(Number);
  if (monthIndex < 0 || Number(day) > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const nowMillis = Number(now / 1_000_000n);
  const year = new Date(nowMillis).getUTCFullYear();
  let millis = Date.UTC(year, monthIndex, Number(day), hour, minute, second);
  // A December line read in January belongs to last year.
  if (millis - nowMillis > 31 * 86_400_000) millis = Date.UTC(year - 1, monthIndex, Number(day), hour, minute, second);
  return BigInt(zonedWallTimeToUtc(millis, timeZone)) * 1_000_000n;
}

/** Reads space-separated header fields of RFC 5424 one at a time. */
class Cursor {
  position = 0;
  constructor(readonly text: string) {}

  field(name: string, maxLength: number): string {
    const end = this.text.indexOf(' ', this.position);
    if (end < 0) throw new ParseError(`RFC 5424 header ends before ${name}`);
    const value = this.text.slice(this.position, end);
    if (value.length === 0 || value.length > maxLength || !/^[\x21-\x7e]+$/.test(value))
      throw new ParseError(`invalid RFC 5424 ${name} "${value.slice(0, 64)}"`);
    this.position = end + 1;
    return value === '-' ? '' : value;
  }
}

/** STRUCTURED-DATA: `-` or `[id param="value" …]…`, values escaping `"`, `\` and `]`. */
function structuredData(cursor: Cursor, attributes: Record<string, string>): void {
  const { text } = cursor;
  if (text[cursor.position] === '-') {
    cursor.position++;
    return;
  }
  if (text[cursor.position] !== '[') throw new ParseError('RFC 5424 STRUCTURED-DATA must be "-" or start with "["');
  const name = /[^ =\]"]{1,32}/y;
  while (text[cursor.position] === '[') {
    name.lastIndex = cursor.position + 1;
    const id = name.exec(text)?.[0];
    if (!id) throw new ParseError('invalid SD-ID');
    cursor.position = name.lastIndex;
    const prefix = `syslog.sd.${id}`;
    let params = 0;
    while (text[cursor.position] === ' ') {
      name.lastIndex = cursor.position + 1;
      const param = name.exec(text)?.[0];
      if (!param || text.slice(name.lastIndex, name.lastIndex + 2) !== '="') throw new ParseError(`invalid SD-PARAM in [${id}]`);
      let position = name.lastIndex + 2;
      let value = '';
      for (;;) {
        const char = text[position];
        if (char === undefined) throw new ParseError(`unterminated SD-PARAM value in [${id}]`);
        if (char === '"') break;
        // RFC 5424 6.3.3: only \" \\ \] are escapes; any other backslash is kept.
        if (char === '\\' && (text[position + 1] === '"' || text[position + 1] === '\\' || text[position + 1] === ']')) {
          value += text[position + 1];
          position += 2;
          continue;
        }
        value += char;
        position++;
      }
      const key = `${prefix}.${param}`;
      // A PARAM-NAME may repeat inside an element.
      attributes[key] = key in attributes ? `${attributes[key]},${value}` : value;
      cursor.position = position + 1;
      params++;
    }
    if (text[cursor.position] !== ']') throw new ParseError(`SD-ELEMENT [${id}] is not closed`);
    cursor.position++;
    if (params === 0) attributes[prefix] = '';
  }
}

function parse5424(afterPri: string): Parsed {
  const cursor = new Cursor(afterPri);
  const version = cursor.field('VERSION', 2);
  const timestamp = cursor.field('TIMESTAMP', 64);
  const timeUnixNano = timestamp === '' ? undefined : rfc3339Nanos(timestamp);
  if (timestamp !== '' && timeUnixNano === undefined) throw new ParseError(`invalid RFC 5424 TIMESTAMP "${timestamp}"`);
  const hostname = cursor.field('HOSTNAME', 255);
  const appName = cursor.field('APP-NAME', 48);
  const procId = cursor.field('PROCID', 128);
  const msgId = cursor.field('MSGID', 32);
  const attributes: Record<string, string> = { 'syslog.version': version };
  if (procId) attributes['syslog.procid'] = procId;
  if (msgId) attributes['syslog.msgid'] = msgId;
  structuredData(cursor, attributes);
  const rest = afterPri.slice(cursor.position);
  if (rest !== '' && rest[0] !== ' ') throw new ParseError('RFC 5424 STRUCTURED-DATA must be followed by a space');
  // MSG may begin with a UTF-8 BOM (RFC 5424 6.4).
  const message = rest.slice(1).replace(/^\uFEFF/, '');
  return { timeUnixNano, message, hostname, appName, attributes };
}

const bsdTimestamp = /^([A-Z][a-z]{2}) ([ \d]\d) (\d{2}:\d{2}:\d{2}) /;
const isoTimestamp = /^(\d{4}-\d{2}-\d{2}T[^ ]+) /;
/** TAG (≤ 48 chars, usually the program) and an optional [pid], ended by a colon. */
const tagPattern = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{1,128})\])?: ?/;

function parse3164(afterPri: string, now: bigint, timeZone: string): Parsed {
  let rest: string;
  let timeUnixNano: bigint | undefined;
  const bsd = bsdTimestamp.exec(afterPri);
  const iso = bsd ? null : isoTimestamp.exec(afterPri);
  if (bsd) {
    timeUnixNano = bsdNanos(bsd[1], bsd[2].trim(), bsd[3], now, timeZone);
    rest = afterPri.slice(bsd[0].length);
  } else if (iso) {
    timeUnixNano = rfc3339Nanos(iso[1]);
    rest = afterPri.slice(iso[0].length);
  } else {
    return headerless(afterPri);
  }
  if (timeUnixNano === undefined) throw new ParseError('invalid RFC 3164 timestamp');
  // HOSTNAME is optional in practice: a first word that is already the TAG has no host before it.
  let hostname = '';
  if (!tagPattern.test(rest)) {
    const space = rest.indexOf(' ');
    if (space > 0) {
      hostname = rest.slice(0, space);
      rest = rest.slice(space + 1);
    }
  }
  const attributes: Record<string, string> = {};
  let appName = '';
  const tag = tagPattern.exec(rest);
  if (tag) {
    appName = tag[1];
    if (tag[2]) attributes['syslog.procid'] = tag[2];
    rest = rest.slice(tag[0].length);
  }
  return { timeUnixNano, message: rest, hostname, appName, attributes };
}

/**
 * `<PRI>` then no timestamp: what Python's SysLogHandler (`<PRI>ident: msg`, or
 * just `<PRI>msg` without an ident), Go's log/syslog with a local writer and
 * many devices send. rsyslog accepts it with the receipt time; so does meshlog.
 * With no timestamp there is no HOSTNAME either (the sender's address is the
 * provenance); a leading `TAG:` or `TAG[pid]:` is the app name, anything else
 * is all message.
 */
function headerless(afterPri: string): Parsed {
  const attributes: Record<string, string> = {};
  const tag = tagPattern.exec(afterPri);
  if (!tag) return { timeUnixNano: undefined, message: afterPri, hostname: '', appName: '', attributes };
  if (tag[2]) attributes['syslog.procid'] = tag[2];
  return { timeUnixNano: undefined, message: afterPri.slice(tag[0].length), hostname: '', appName: tag[1], attributes };
}

/** One syslog message (one frame or datagram, without framing) → one record, always. */
export function syslogRecord(line: string, source: SyslogSource): LogRecord {
  const { tenant, receiver, peer, receivedUnixNano } = source;
  try {
    const pri = /^<(\d{1,3})>/.exec(line);
    if (!pri) throw new ParseError('missing <PRI>');
    const priority = Number(pri[1]);
    if (priority > 191 || (pri[1].length > 1 && pri[1][0] === '0')) throw new ParseError(`invalid PRI <${pri[1]}>`);
    const afterPri = line.slice(pri[0].length);
    const parsed = /^\d{1,2} /.test(afterPri) ? parse5424(afterPri) : parse3164(afterPri, receivedUnixNano, source.timeZone ?? 'UTC');
    const severity = priority & 7;
    const attributes = parsed.attributes;
    attributes['syslog.facility'] = facilityNames[priority >> 3];
    attributes['syslog.severity'] = syslogSeverityNames[severity];
    attributes['client.address'] = peer;
    if (parsed.hostname) attributes['syslog.hostname'] = parsed.hostname;
    if (parsed.appName) attributes['syslog.appname'] = parsed.appName;
    // Plain literals, no spreads: this runs once per message on the hot path.
    return newLogRecord({
      tenant,
      receiver,
      observedTimeUnixNano: receivedUnixNano,
      timeUnixNano: parsed.timeUnixNano ?? receivedUnixNano,
      severityNumber: severityFromSyslog(severity),
      severityText: syslogSeverityNames[severity],
      body: parsed.message,
      serviceName: parsed.appName,
      resource: parsed.hostname ? { 'host.name': parsed.hostname } : {},
      attributes,
    });
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    return newLogRecord({
      tenant,
      receiver,
      observedTimeUnixNano: receivedUnixNano,
      timeUnixNano: receivedUnixNano,
      body: line,
      attributes: { 'syslog.parse_error': error.message, 'client.address': peer },
    });
  }
}
