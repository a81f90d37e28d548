const rfc3339 = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|z|[+-]\d{2}:?\d{2})?$/;
const commonLog = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}:\d{2}:\d{2})(?:\.(\d+))? ([+-]\d{2})(\d{2})$/;
const numeric = /^\d+(\.\d+)?$/;
const months: Record<string, string> = {
  Jan: '01',
  Feb: '02',
  Mar: '03',
  Apr: '04',
  May: '05',
  Jun: '06',
  Jul: '07',
  Aug: '08',
  Sep: '09',
  Oct: '10',
  Nov: '11',
  Dec: '12',
};

function fractionNanos(digits: string | undefined): bigint {
  if (!digits) return 0n;
  return BigInt(digits.length >= 9 ? digits.slice(0, 9) : digits.padEnd(9, '0'));
}

function fromIso(date: string, time: string, zone: string, fraction: string | undefined): bigint | undefined {
  const millis = Date.parse(`${date}T${time}${zone}`);
  return Number.isNaN(millis) ? undefined : BigInt(millis) * 1_000_000n + fractionNanos(fraction);
}

function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The RFC 3339 shape access logs write (`2026-01-01T00:00:00.123Z`, a
 * `±hh:mm` zone or none) read digit by digit, without a regular expression
 * or a date string to parse: a sizeable share of parsing an access line
 * otherwise. Anything else (and dates Date.parse would roll over, such as
 * 30 February) is left to the general path: undefined.
 */
function commonRfc3339Nanos(text: string): bigint | undefined {
  if (
    text.length < 19 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  )
    return undefined;
  const separator = text.charCodeAt(10);
  if (separator !== 84 /* T */ && separator !== 32) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  // Date.UTC reads years 0–99 as 1900–1999.
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
    return undefined;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > daysInMonth[month - 1] + (leap ? 1 : 0)) return undefined;
  let pos = 19;
  let nanos = 0;
  const fraction = text.charCodeAt(pos);
  if (fraction === 46 /* . */ || fraction === 44 /* , */) {
    const start = ++pos;
    while (pos < text.length && text.charCodeAt(pos) >= 48 && text.charCodeAt(pos) <= 57) {
      if (pos - start < 9) nanos = nanos * 10 + (text.charCodeAt(pos) - 48);
      pos++;
    }
    if (pos === start) return undefined;
    for (let scale = pos - start; scale < 9; scale++) nanos *= 10;
  }
  let offsetMinutes = 0;
  if (pos < text.length) {
    const zone = text.charCodeAt(pos);
    if ((zone === 90 /* Z */ || zone === 122) && pos + 1 === text.length) {
      pos++;
    } else if (zone === 43 /* + */ || zone === 45 /* - */) {
      const colon = text.charCodeAt(pos + 3) === 58 ? 1 : 0;
      if (pos + 5 + colon !== text.length) return undefined;
      const zoneHours = digitsAt(text, pos + 1, 2);
      const zoneMinutes = digitsAt(text, pos + 3 + colon, 2);
      if (zoneHours < 0 || zoneHours > 23 || zoneMinutes < 0 || zoneMinutes > 59) return undefined;
      offsetMinutes = (zone === 43 ? 1 : -1) * (zoneHours * 60 + zoneMinutes);
    } else {
      return undefined;
    }
  }
  const seconds = Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - offsetMinutes * 60;
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

/**
 * A timestamp as written in a log line to nanoseconds since the epoch:
 * RFC 3339 with any fraction and zone (no zone = UTC), the common log format
 * (`25/Nov/2020:21:26:18 +0100`), or epoch seconds / ms / µs / ns by magnitude.
 * Undefined when not a timestamp.
 */
export function parseTimestampNanos(text: string): bigint | undefined {
  const common3339 = commonRfc3339Nanos(text);
  if (common3339 !== undefined) return common3339;
  const iso = rfc3339.exec(text);
  if (iso) {
    let zone = iso[4] ?? 'Z';
    if (zone.length === 5) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    return fromIso(iso[1], iso[2], zone === 'z' ? 'Z' : zone, iso[3]);
  }
  const common = commonLog.exec(text);
  if (common) {
    const month = months[common[2]];
    return month ? fromIso(`${common[3]}-${month}-${common[1]}`, common[4], `${common[6]}:${common[7]}`, common[5]) : undefined;
  }
  if (numeric.test(text)) {
    const dot = text.indexOf('.');
    const whole = dot < 0 ? text : text.slice(0, dot);
    if (whole.length <= 11) return BigInt(whole) * 1_000_000_000n + fractionNanos(dot < 0 ? undefined : text.slice(dot + 1));
    if (whole.length <= 14) return BigInt(whole) * 1_000_000n + (dot < 0 ? 0n : fractionNanos(text.slice(dot + 1)) / 1000n);
    if (whole.length <= 17) return BigInt(whole) * 1_000n;
    return whole.length <= 20 ? BigInt(whole) : undefined;
  }
  return undefined;
}
