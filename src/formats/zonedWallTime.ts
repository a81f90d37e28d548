/**
 * Wall-clock times of an IANA time zone → UTC, for timestamps that carry no
 * zone (RFC 3164's `Mmm dd hh:mm:ss`), with the zone data Node ships (Intl).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Whether Node knows the zone (`Europe/Berlin`, `UTC`, `Etc/GMT+5`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** How far the zone's wall clock is ahead of UTC at `utcMs`, in ms. */
function offsetAt(utcMs: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(utcMs));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((candidate) => candidate.type === type)!.value);
  const wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wall - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

const hourMs = 3_600_000;
/** Offsets change only at whole hours of the wall clock: the last wall hour looked up, per zone. */
const lastHour = new Map<string, { hour: number; offset: number }>();

/**
 * The UTC instant of a wall-clock time in `timeZone`, the wall time given as
 * if it were UTC (`Date.UTC(year, month, day, h, m, s)`). At a change of
 * offset, a wall time the clock skipped or showed twice is read with one of
 * the two offsets.
 */
export function zonedWallTimeToUtc(wallAsUtcMs: number, timeZone: string): number {
  if (timeZone === 'UTC') return wallAsUtcMs;
  const hour = Math.floor(wallAsUtcMs / hourMs);
  const cached = lastHour.get(timeZone);
  if (cached?.hour === hour) return wallAsUtcMs - cached.offset;
  // The offset at the instant that reads like the wall time is off by at most one change: checked once more.
  const first = offsetAt(wallAsUtcMs, timeZone);
  const second = offsetAt(wallAsUtcMs - first, timeZone);
  const offset = second === first || offsetAt(wallAsUtcMs - second, timeZone) !== second ? first : second;
  lastHour.set(timeZone, { hour, offset });
  return wallAsUtcMs - offset;
}
