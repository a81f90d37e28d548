/** ClickHouse's `2026-11-25 15:37:06.557000000` (UTC, no zone) as epoch milliseconds. */
export function storedTimeMs(value: string): number {
  return Date.parse(`${value.replace(' ', 'T').slice(0, 23)}Z`);
}
