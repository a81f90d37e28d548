/**
 * The two duration grammars Loki uses, each where Loki uses it:
 * - Go's time.ParseDuration (ns to h, fractions, no d/w/y) for a label's
 *   value in a duration label filter, `unwrap duration(...)` and the
 *   `duration` template function;
 * - Prometheus' model.ParseDuration (whole numbers of y w d h m s ms, in that
 *   order) for a range `[1d]`; a duration written in a query elsewhere
 *   (`> 1d`, `offset 1w`) takes either (pkg/logql/syntax/lex.go).
 */

const goUnitSeconds: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Go's time.ParseDuration: seconds, or Go's error message. */
export function goParseDuration(text: string): { seconds: number } | { error: string } {
  const quoted = JSON.stringify(text);
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return { seconds: 0 };
  if (rest === '') return { error: `time: invalid duration ${quoted}` };
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if (number[1] === '' && (number[2] ?? '') === '') return { error: `time: invalid duration ${quoted}` };
    rest = rest.slice(number[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') return { error: `time: missing unit in duration ${quoted}` };
    const factor = goUnitSeconds[unit];
    if (factor === undefined) return { error: `time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}` };
    rest = rest.slice(unit.length);
    total += Number(`${number[1] || '0'}.${number[2] ?? ''}0`) * factor;
  }
  return { seconds: negative ? -total : total };
}

const promUnitMs: [string, number][] = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const promDurationPattern = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Prometheus' model.ParseDuration in milliseconds, undefined when it is not one. */
export function promParseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = promDurationPattern.exec(text);
  if (!match || text === '') return undefined;
  return promUnitMs.reduce((sum, [, ms], i) => sum + Number(match[i + 1] ?? 0) * ms, 0);
}

/** A duration written in a query (lex.go's parseDuration): Prometheus' form first, then Go's; milliseconds. */
export function queryDurationMs(text: string): number | undefined {
  const prom = promParseDuration(text);
  if (prom !== undefined) return prom;
  const go = goParseDuration(text);
  return 'seconds' in go ? go.seconds * 1000 : undefined;
}
