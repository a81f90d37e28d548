const rfc3339 = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|z|[+-]\d{2}:?\d{2})?$/;
const commonLog = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}:\d{2}:\d{2})(?:\.(\d+))? ([+-]\d{2})(\d{2})$/;
const numeric = /^\d+(\.\d+)?$/;
const months: Record<string, string> = {
  Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06', Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12',
};

function fractionNanos(digits: string | undefined): bigint {
  if (!digits) return 0n;
  return BigInt(digits.length >= 9 ? digits.slice(0, 9) : digits.padEnd(9, '0'));
}

function fromIso(date: string, time: string, zone: string, fraction: string | undefined): bigint | undefined {
  const millis = Date.parse(`${date}T${time}${zone}`);
  return Number.isNaN(millis) ? undefined : BigInt(millis) * 1_000_000n + fractionNanos(fraction);
}

/**
 * A timestamp as written in a log line to nanoseconds since the epoch:
 * RFC 3339 with any fraction and zone (no zone = UTC), the common log format
 * (`25/Nov/2020:21:26:18 +0100`), or epoch seconds / ms / µs / ns by magnitude.
 * Undefined when not a timestamp.
 */
export function parseTimestampNanos(text: string): bigint | undefined {
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
