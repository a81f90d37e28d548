/**
 * The values a LogQL template passes between functions, with Go's types:
 * string, bool, int (bigint), float64 (number), time.Time, nil, and what
 * fromJson decodes (maps and slices). The root value is the entry's labels.
 */
export class GoTime {
  constructor(
    readonly nanos: bigint,
    /** Go's monotonic reading, which time.Now() carries and String() prints as `m=+…`. */
    readonly monotonicSeconds?: number,
  ) {}
}

/** A value of the wrong Go type for a function's parameter: Go reports it without "error calling". */
export class GoArgumentTypeError extends Error {}

export type GoValue = string | boolean | bigint | number | null | GoTime | GoValue[] | { [key: string]: GoValue } | Map<string, string>;

/** Go's type name of a value, as its template errors give it. */
export function goTypeName(value: GoValue): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float64';
  if (value === null) return '<nil>';
  if (value instanceof GoTime) return 'time.Time';
  if (Array.isArray(value)) return '[]interface {}';
  if (value instanceof Map) return 'map[string]string';
  return 'map[string]interface {}';
}

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

/** A time as Go's time.String() prints it, in UTC: `2023-05-26 00:00:00.902 +0000 UTC`. */
export function goTimeString(nanos: bigint): string {
  const seconds = nanos / 1_000_000_000n - (nanos % 1_000_000_000n < 0n ? 1n : 0n);
  const fraction = nanos - seconds * 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const digits = fraction === 0n ? '' : `.${fraction.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${iso}${digits} +0000 UTC`;
}

/** What text/template prints for a value (fmt's %v). */
export function printGo(value: GoValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return goFloat(value);
  if (value === null) return '<no value>';
  if (value instanceof GoTime) {
    const text = goTimeString(value.nanos);
    return value.monotonicSeconds === undefined ? text : `${text} m=+${value.monotonicSeconds.toFixed(9)}`;
  }
  if (Array.isArray(value)) return `[${value.map(printNested).join(' ')}]`;
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return `map[${entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, item]) => `${key}:${printNested(item)}`)
    .join(' ')}]`;
}

/** Inside a map or slice, fmt prints nil as `<nil>`. */
function printNested(value: GoValue): string {
  return value === null ? '<nil>' : printGo(value);
}

/** Go's template truth: false, 0, nil and empty strings, slices and maps are false; everything else true. */
export function goTruth(value: GoValue): boolean {
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'number') return value !== 0;
  if (value === null) return false;
  if (value instanceof GoTime) return true;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  return Object.keys(value).length > 0;
}

/** sprig's fromJson: the decoded document, nil when it is not JSON. */
export function fromJson(text: string): GoValue {
  try {
    return JSON.parse(text) as GoValue;
  } catch {
    return null;
  }
}
