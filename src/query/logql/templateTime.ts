import { isTimeZone } from '../../formats/zonedWallTime.js';
import { goParseDuration } from './goDuration.js';
import { formatGoLayout, parseGoLayout } from './goTimeLayout.js';
import { GoArgumentTypeError, GoTime, goTypeName, printGo, type GoValue } from './goTemplateValue.js';
import { parseBytes } from './lexer.js';

/**
 * The template functions of Loki's fmt.go (and its sprig subset) that deal in
 * times, durations and sizes. A time is a GoTime; the server's "local" zone
 * is UTC. Each takes Go's argument order (a piped value last).
 */

/** Go's time.Time{} (what toDate gives for text it cannot parse): 0001-01-01 00:00:00 UTC. */
const zeroTime = new GoTime(-62_135_596_800n * 1_000_000_000n);

/** A time.Time parameter: anything else is Go's "wrong type for value". */
function timeOf(value: GoValue): bigint {
  if (value instanceof GoTime) return value.nanos;
  throw new GoArgumentTypeError(`wrong type for value; expected time.Time; got ${goTypeName(value)}`);
}

/** Go's time.ParseDuration(...).Seconds(); Go's units only (no d, w, y). */
function durationSeconds(value: GoValue): number {
  const duration = goParseDuration(printGo(value));
  if ('error' in duration) throw new Error(duration.error);
  return duration.seconds;
}

/** Loki's unixToTime: the unit of an epoch number is told by its digits (5 days, 10 s, 13 ms, 16 µs, 19 ns). */
function unixToTime(epoch: string): GoTime {
  if (!/^[-+]?\d+$/.test(epoch))
    throw new Error(`unable to parse time '${epoch}': strconv.ParseInt: parsing ${JSON.stringify(epoch)}: invalid syntax`);
  const perUnit: Record<number, bigint> = { 5: 86_400_000_000_000n, 10: 1_000_000_000n, 13: 1_000_000n, 16: 1_000n, 19: 1n };
  const factor = perUnit[epoch.length];
  if (factor === undefined) throw new Error(`unable to parse time '${epoch}': <nil>`);
  return new GoTime(BigInt(epoch) * factor);
}

/** sprig's date: a time, or Unix seconds as an integer, in the given layout; any other value means now (as sprig does). */
function date(layout: string, value: GoValue): string {
  const nanos = value instanceof GoTime ? value.nanos : typeof value === 'bigint' ? value * 1_000_000_000n : nowNanos();
  return formatGoLayout(nanos, layout);
}

/** Loki's toDateInZone and sprig's toDate: an unparsable value gives Go's zero time, without an error. */
function parseInZone(layout: string, zone: string, value: string): GoTime {
  // Loki falls back to UTC for a zone it cannot load; Local is the server's zone, UTC here. The time prints in UTC.
  const nanos = parseGoLayout(layout, value, zone !== 'Local' && isTimeZone(zone) ? zone : 'UTC');
  return typeof nanos === 'bigint' ? new GoTime(nanos) : zeroTime;
}

function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The functions: Go's argument order, a piped value last. */
export const timeFunctions: Record<string, (args: GoValue[]) => GoValue> = {
  bytes: ([v]) => {
    const value = parseBytes(printGo(v));
    if (value === undefined) throw new Error(`unhandled size name: ${printGo(v)}`);
    return value;
  },
  duration: ([v]) => durationSeconds(v),
  duration_seconds: ([v]) => durationSeconds(v),
  unixEpoch: ([v]) => (timeOf(v) / 1_000_000_000n - (timeOf(v) % 1_000_000_000n < 0n ? 1n : 0n)).toString(),
  unixEpochMillis: ([v]) => (timeOf(v) / 1_000_000n - (timeOf(v) % 1_000_000n < 0n ? 1n : 0n)).toString(),
  unixEpochNanos: ([v]) => timeOf(v).toString(),
  unixToTime: ([v]) => unixToTime(printGo(v)),
  toDateInZone: ([layout, zone, v]) => parseInZone(printGo(layout), printGo(zone), printGo(v)),
  toDate: ([layout, v]) => parseInZone(printGo(layout), 'Local', printGo(v)),
  date: ([layout, v]) => date(printGo(layout), v),
  now: () => new GoTime(nowNanos(), performance.now() / 1000),
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
  toDate: 2,
  date: 2,
  now: 0,
};
