import { parseBytes } from './lexer.js';

/**
 * The template functions of Loki's fmt.go that deal in times, durations and
 * sizes. Templates here pass strings, so a Go time.Time travels as the text Go
 * prints for it (time.String(), always in UTC) and every time function reads
 * that text back, as well as RFC 3339 (what `__timestamp__` gives).
 */

/** Go's %v of a float64 (strconv 'g', -1): the shortest digits, in exponent form from 1e6 up or below 1e-4 (3e+06, 3000). */
export function goFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  if (value === 0) return '0';
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

const goDurationUnits: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Go's time.ParseDuration(...).Seconds(); Go's units only (no d, w, y). */
function goDurationSeconds(text: string): number {
  const parts = /^[-+]?(?:\d*\.?\d+(?:ns|us|µs|μs|ms|s|m|h))+$/.test(text)
    ? text.match(/\d*\.?\d+(?:ns|us|µs|μs|ms|s|m|h)/g)!
    : text === '0'
      ? []
      : undefined;
  if (!parts) throw new Error(`time: invalid duration ${JSON.stringify(text)}`);
  const total = parts.reduce((sum, part) => {
    const [, amount, unit] = /^(\d*\.?\d+)(.+)$/.exec(part)!;
    return sum + Number(amount) * goDurationUnits[unit];
  }, 0);
  return text.startsWith('-') ? -total : total;
}

/** A time as Go's time.String() prints it, in UTC: `2023-05-26 00:00:00.902 +0000 UTC`. */
export function goTimeString(nanos: bigint): string {
  const seconds = nanos / 1_000_000_000n - (nanos % 1_000_000_000n < 0n ? 1n : 0n);
  const fraction = nanos - seconds * 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const digits = fraction === 0n ? '' : `.${fraction.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${iso}${digits} +0000 UTC`;
}

/** Nanoseconds since the epoch of a time in Go's time.String() or RFC 3339 form. */
export function timeNanos(text: string): bigint {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?(?: [A-Z]+)?$/.exec(text.trim());
  if (!match) throw new Error(`not a time: ${JSON.stringify(text)}`);
  const [, day, clock, fraction = '', zone = 'Z'] = match;
  const offsetMinutes = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  const seconds = BigInt(Date.parse(`${day}T${clock}Z`) / 1000 - offsetMinutes * 60);
  return seconds * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** Loki's unixToTime: the unit of an epoch number is told by its digits (5 days, 10 s, 13 ms, 16 µs, 19 ns). */
function unixToTime(epoch: string): string {
  if (!/^\d+$/.test(epoch)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(epoch)}: invalid syntax`);
  const value = BigInt(epoch);
  const perUnit: Record<number, bigint> = { 5: 86_400_000_000_000n, 10: 1_000_000_000n, 13: 1_000_000n, 16: 1_000n, 19: 1n };
  const factor = perUnit[epoch.length];
  if (factor === undefined) throw new Error(`unable to parse time '${epoch}'`);
  return goTimeString(value * factor);
}

/** Go layout elements (reference time Mon Jan 2 15:04:05 MST 2006) as the pattern a value has there. */
const layoutElements: [string, string][] = [
  ['2006', '(?<year>\\d{4})'],
  ['01', '(?<month>\\d{2})'],
  ['02', '(?<day>\\d{2})'],
  ['15', '(?<hour>\\d{2})'],
  ['04', '(?<minute>\\d{2})'],
  ['05', '(?<second>\\d{2})'],
  ['Z07:00', '(?<zone>Z|[+-]\\d{2}:\\d{2})'],
  ['-07:00', '(?<zone>[+-]\\d{2}:\\d{2})'],
];

/** Go's time.Parse for the numeric layout elements (year to seconds, fractions, numeric zones); the zone argument is UTC only. */
function parseInLayout(layout: string, value: string, zone: string): string {
  if (zone !== 'UTC') throw new Error(`unknown time zone ${zone}`);
  let pattern = '';
  for (let rest = layout; rest.length > 0;) {
    const fraction = /^[.,](?:0+|9+)/.exec(rest)?.[0];
    const element = layoutElements.find(([name]) => rest.startsWith(name));
    if (fraction) pattern += fraction[1] === '9' ? '(?:[.,](?<fraction>\\d+))?' : `[.,](?<fraction>\\d{${fraction.length - 1}})`;
    else if (element) pattern += element[1];
    else pattern += rest[0].replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    rest = rest.slice(fraction?.length ?? element?.[0].length ?? 1);
  }
  const groups = new RegExp(`^${pattern}$`).exec(value)?.groups;
  if (!groups) throw new Error(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse`);
  const part = (name: string, fallback: string) => groups[name] ?? fallback;
  const zoneText = groups.zone === undefined || groups.zone === 'Z' ? 'Z' : groups.zone;
  const iso = `${part('year', '0000')}-${part('month', '01')}-${part('day', '01')}T${part('hour', '00')}:${part('minute', '00')}:${part('second', '00')}`;
  return goTimeString(timeNanos(`${iso}${groups.fraction ? `.${groups.fraction.slice(0, 9)}` : ''}${zoneText}`));
}

/** The functions, with Go's argument order (a piped value last). */
export const timeFunctions: Record<string, (args: string[]) => string> = {
  bytes: ([v]) => {
    const value = parseBytes(v);
    if (value === undefined) throw new Error(`unhandled size name: ${v}`);
    return goFloat(value);
  },
  duration: ([v]) => goFloat(goDurationSeconds(v)),
  duration_seconds: ([v]) => goFloat(goDurationSeconds(v)),
  unixEpoch: ([v]) => (timeNanos(v) / 1_000_000_000n).toString(),
  unixEpochMillis: ([v]) => (timeNanos(v) / 1_000_000n).toString(),
  unixEpochNanos: ([v]) => timeNanos(v).toString(),
  unixToTime: ([v]) => unixToTime(v),
  toDateInZone: ([layout, zone, v]) => parseInLayout(layout, v, zone),
};

/** How many arguments each takes, for Go's "wrong number of args" check. */
export const timeFunctionArity: Record<string, number> = {
  bytes: 1,
  duration: 1,
  duration_seconds: 1,
  unixEpoch: 1,
  unixEpochMillis: 1,
  unixEpochNanos: 1,
  unixToTime: 1,
  toDateInZone: 3,
};
