/** RFC 3339 (any fractional precision, validated by the route's schema) → ns since the epoch. */
export function rfc3339Ns(value: string): bigint {
  const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
  const wholeMs = Date.parse(value.replace(/\.\d+/, ''));
  return BigInt(wholeMs) * 1_000_000n + BigInt((fraction + '000000000').slice(0, 9));
}
