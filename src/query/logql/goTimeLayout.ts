import { zonedWallTimeToUtc } from '../../formats/zonedWallTime.js';

/**
 * Go's time layouts (reference time Mon Jan 2 15:04:05 MST 2006): Format and
 * ParseInLocation, for the template functions `date`, `toDate` and
 * `toDateInZone`. Times are formatted in UTC (meshlog's "server local zone");
 * parsing takes the offset the value gives, else reads the wall time in the
 * given IANA zone (UTC by default).
 */

const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Chunk = { literal: string } | { std: string };

/** Splits a layout into literals and Go's standard elements, in nextStdChunk's order of preference. */
function chunks(layout: string): Chunk[] {
  const elements = [
    'January',
    'Jan',
    'Monday',
    'Mon',
    'MST',
    '2006',
    '002',
    '01',
    '02',
    '03',
    '04',
    '05',
    '06',
    '15',
    '__2',
    '_2',
    '1',
    '2',
    '3',
    '4',
    '5',
    'PM',
    'pm',
    '-070000',
    '-07:00:00',
    '-0700',
    '-07:00',
    '-07',
    'Z070000',
    'Z07:00:00',
    'Z0700',
    'Z07:00',
    'Z07',
  ];
  const out: Chunk[] = [];
  let literal = '';
  for (let i = 0; i < layout.length;) {
    const fraction = /^[.,](0+|9+)(?!\d)/.exec(layout.slice(i));
    const element = fraction ? fraction[0] : elements.find((name) => layout.startsWith(name, i));
    // Go reads "Monday"/"Mon" only when not followed by a lower-case letter, as "Mon" in "Month" is text.
    const wordy = element !== undefined && /^(Jan|Mon)$/.test(element) && /^[a-z]/.test(layout.slice(i + element.length));
    if (element === undefined || wordy || (element === '_2' && layout.startsWith('_2006', i))) {
      literal += layout[i];
      i++;
      continue;
    }
    if (literal !== '') out.push({ literal });
    literal = '';
    out.push({ std: element });
    i += element.length;
  }
  if (literal !== '') out.push({ literal });
  return out;
}

const pad = (n: number, width: number, fill = '0') => String(n).padStart(width, fill);

/** Go's time.Format of a UTC instant (nanoseconds since the epoch). */
export function formatGoLayout(nanos: bigint, layout: string): string {
  const seconds = nanos / 1_000_000_000n - (nanos % 1_000_000_000n < 0n ? 1n : 0n);
  const fraction = nanos - seconds * 1_000_000_000n;
  const date = new Date(Number(seconds) * 1000);
  const year = date.getUTCFullYear();
  const hour = date.getUTCHours();
  const yearDay = Math.floor((Date.UTC(year, date.getUTCMonth(), date.getUTCDate()) - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  return chunks(layout)
    .map((chunk) => {
      if ('literal' in chunk) return chunk.literal;
      const std = chunk.std;
      if (/^[.,]/.test(std)) {
        const digits = fraction
          .toString()
          .padStart(9, '0')
          .slice(0, std.length - 1);
        if (std[1] === '0') return std[0] + digits;
        const trimmed = digits.replace(/0+$/, '');
        return trimmed === '' ? '' : std[0] + trimmed;
      }
      switch (std) {
        case 'January':
          return months[date.getUTCMonth()];
        case 'Jan':
          return months[date.getUTCMonth()].slice(0, 3);
        case 'Monday':
          return days[date.getUTCDay()];
        case 'Mon':
          return days[date.getUTCDay()].slice(0, 3);
        case 'MST':
          return 'UTC';
        case '2006':
          return pad(year, 4);
        case '06':
          return pad(year % 100, 2);
        case '01':
          return pad(date.getUTCMonth() + 1, 2);
        case '1':
          return String(date.getUTCMonth() + 1);
        case '02':
          return pad(date.getUTCDate(), 2);
        case '_2':
          return pad(date.getUTCDate(), 2, ' ');
        case '2':
          return String(date.getUTCDate());
        case '002':
          return pad(yearDay, 3);
        case '__2':
          return pad(yearDay, 3, ' ');
        case '15':
          return pad(hour, 2);
        case '03':
          return pad(hour % 12 || 12, 2);
        case '3':
          return String(hour % 12 || 12);
        case '04':
          return pad(date.getUTCMinutes(), 2);
        case '4':
          return String(date.getUTCMinutes());
        case '05':
          return pad(date.getUTCSeconds(), 2);
        case '5':
          return String(date.getUTCSeconds());
        case 'PM':
          return hour >= 12 ? 'PM' : 'AM';
        case 'pm':
          return hour >= 12 ? 'pm' : 'am';
        default:
          // Numeric zones: UTC is +0000 (-07 forms) or Z (Z07 forms).
          return std.startsWith('Z') ? 'Z' : `+${std.slice(1).replace(/\d/g, '0')}`;
      }
    })
    .join('');
}

/** Go's time.ParseInLocation (`timeZone` an IANA name Node knows): nanoseconds, or Go's error text. */
export function parseGoLayout(layout: string, value: string, timeZone = 'UTC'): bigint | string {
  let rest = value;
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0n;
  let pm: boolean | undefined;
  let offsetSeconds: number | undefined;
  const cannot = (element: string) =>
    `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(element)}`;
  const take = (pattern: RegExp): string | undefined => {
    const match = pattern.exec(rest);
    if (!match) return undefined;
    rest = rest.slice(match[0].length);
    return match[0];
  };
  for (const chunk of chunks(layout)) {
    if ('literal' in chunk) {
      if (!rest.startsWith(chunk.literal)) return cannot(chunk.literal);
      rest = rest.slice(chunk.literal.length);
      continue;
    }
    const std = chunk.std;
    let text: string | undefined;
    if (/^[.,]/.test(std)) {
      text = std[1] === '0' ? take(new RegExp(`^[.,]\\d{${std.length - 1}}`)) : take(/^(?:[.,]\d+)?/);
      if (text === undefined) return cannot(std);
      if (text !== '') nanos = BigInt(text.slice(1, 10).padEnd(9, '0'));
      continue;
    }
    const numeric: Record<string, RegExp> = {
      '2006': /^\d{4}/,
      '06': /^\d{2}/,
      '01': /^\d{2}/,
      '1': /^\d{1,2}/,
      '02': /^\d{2}/,
      _2: /^(?: \d|\d{1,2})/,
      '2': /^\d{1,2}/,
      '002': /^\d{3}/,
      __2: /^[ \d]{3}/,
      '15': /^\d{1,2}/,
      '03': /^\d{2}/,
      '3': /^\d{1,2}/,
      '04': /^\d{2}/,
      '4': /^\d{1,2}/,
      '05': /^\d{2}/,
      '5': /^\d{1,2}/,
    };
    if (numeric[std]) {
      text = take(numeric[std]);
      if (text === undefined) return cannot(std);
      const n = Number(text.trim());
      if (std === '2006') year = n;
      else if (std === '06') year = n >= 69 ? 1900 + n : 2000 + n;
      else if (std === '01' || std === '1') month = n;
      else if (std === '02' || std === '_2' || std === '2') day = n;
      else if (std === '15' || std === '03' || std === '3') hour = n;
      else if (std === '04' || std === '4') minute = n;
      else if (std === '05' || std === '5') {
        second = n;
        // Go accepts a fraction after seconds even when the layout has none.
        const fraction = /^[.,](\d+)/.exec(rest);
        if (fraction && !chunks(layout).some((c) => 'std' in c && /^[.,]/.test(c.std))) {
          nanos = BigInt(fraction[1].slice(0, 9).padEnd(9, '0'));
          rest = rest.slice(fraction[0].length);
        }
      }
      continue;
    }
    if (std === 'January' || std === 'Jan') {
      const names = std === 'Jan' ? months.map((m) => m.slice(0, 3)) : months;
      const found = names.findIndex((name) => rest.toLowerCase().startsWith(name.toLowerCase()));
      if (found < 0) return cannot(std);
      month = found + 1;
      rest = rest.slice(names[found].length);
    } else if (std === 'Monday' || std === 'Mon') {
      const names = std === 'Mon' ? days.map((d) => d.slice(0, 3)) : days;
      const found = names.find((name) => rest.toLowerCase().startsWith(name.toLowerCase()));
      if (found === undefined) return cannot(std);
      rest = rest.slice(found.length);
    } else if (std === 'PM' || std === 'pm') {
      text = take(/^(?:AM|PM|am|pm)/);
      if (text === undefined) return cannot(std);
      pm = text.toUpperCase() === 'PM';
    } else if (std === 'MST') {
      const abbreviation = take(/^(?:[A-Z]{3,5}|[+-]\d+)/);
      if (abbreviation === undefined) return cannot(std);
      // UTC and GMT name their offset; another abbreviation is taken as the location's own.
      if (abbreviation === 'UTC' || abbreviation === 'GMT') offsetSeconds = 0;
    } else {
      if (std.startsWith('Z') && take(/^Z/) !== undefined) {
        offsetSeconds = 0;
        continue;
      }
      const zone = take(/^[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?/);
      if (zone === undefined) return cannot(std);
      const digits = zone.slice(1).replaceAll(':', '');
      const [h, m, s] = [digits.slice(0, 2), digits.slice(2, 4) || '0', digits.slice(4, 6) || '0'];
      offsetSeconds = (zone[0] === '-' ? -1 : 1) * (Number(h) * 3600 + Number(m) * 60 + Number(s));
    }
  }
  if (rest !== '') return `parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(rest)}`;
  if (pm !== undefined) {
    if (hour > 12) return `parsing time ${JSON.stringify(value)}: hour out of range`;
    hour = (hour % 12) + (pm ? 12 : 0);
  }
  if (month < 1 || month > 12) return `parsing time ${JSON.stringify(value)}: month out of range`;
  const daysIn = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  if (day < 1 || day > (month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : daysIn))
    return `parsing time ${JSON.stringify(value)}: day out of range`;
  if (hour > 23 || minute > 59 || second > 59) return `parsing time ${JSON.stringify(value)}: value out of range`;
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, 0);
  // Go's ParseInLocation: an offset in the value wins; without one, the wall time is read in the location.
  const utcMs = offsetSeconds === undefined ? zonedWallTimeToUtc(utc.getTime(), timeZone) : utc.getTime() - offsetSeconds * 1000;
  return BigInt(utcMs / 1000) * 1_000_000_000n + nanos;
}
