export type TimeZone = 'local' | 'utc';

const storageKey = 'meshlog.timezone';

export function savedTimeZone(): TimeZone {
  return localStorage.getItem(storageKey) === 'utc' ? 'utc' : 'local';
}

export function saveTimeZone(zone: TimeZone): void {
  localStorage.setItem(storageKey, zone);
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `2026-11-25 14:03:07.123` in the chosen zone. */
export function formatTime(ms: number, zone: TimeZone, withMillis = true): string {
  const date = new Date(ms);
  const utc = zone === 'utc';
  const parts = utc
    ? [
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
        date.getUTCHours(),
        date.getUTCMinutes(),
        date.getUTCSeconds(),
        date.getUTCMilliseconds(),
      ]
    : [
        date.getFullYear(),
        date.getMonth() + 1,
        date.getDate(),
        date.getHours(),
        date.getMinutes(),
        date.getSeconds(),
        date.getMilliseconds(),
      ];
  const [y, mo, d, h, mi, s, ms3] = parts;
  return `${y}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${withMillis ? `.${pad(ms3, 3)}` : ''}`;
}

/** A nanosecond timestamp string as milliseconds. */
export function nsToMs(ns: string): number {
  return Number(BigInt(ns) / 1_000_000n);
}
