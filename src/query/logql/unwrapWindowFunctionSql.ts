import type { RangeFunction } from './ast.js';

/**
 * A range function of unwrapped values over one (group, window) of compileUnwrapWindows'
 * rows (`u_t`: time, `u_v`: value). The values are finite and never -0 (unwrapValueSql.ts
 * converts no other), so min, max and a sort by value agree with JavaScript's whatever the
 * order, and ClickHouse computes those functions to the very double the engine's rangeValue
 * (metricFunctions.ts) gives. The functions whose rounding depends on the order (Loki's
 * incremental mean, Welford's variance) come back as the window's values in the engine's
 * order, (time, value), for the engine to fold: ClickHouse's arrayFold folds alike but
 * was measured far slower (a day of one service at a [1h] range, step 5m: 80–100 s
 * instead of 5–9 s at 10M rows). So does a quantile whose φ ClickHouse cannot build exactly.
 */

/** Functions computed here (rangeAggregation.ts windows only these). */
export const windowFunctions = new Set<RangeFunction>([
  'sum_over_time',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'first_over_time',
  'last_over_time',
]);

/** The window's values in (time, value) order: the order the engine reads them in. */
const orderedValuesSql = 'arrayMap(x -> x.2, arraySort(groupArray((u_t, u_v))))';

/**
 * A quantile's φ as ClickHouse's exact division of two integers, which is the double
 * nearest the decimal, as JavaScript's parse of it is; undefined for a φ outside [0, 1]
 * or not written with at most 15 digits (ClickHouse's own float parser rounds otherwise).
 */
function phiSql(phi: number, param: (type: string, value: unknown) => string): string | undefined {
  const text = String(phi);
  if (!(phi >= 0 && phi <= 1) || !/^[01](\.[0-9]{1,14})?$/.test(text)) return undefined;
  const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  return `(toFloat64(${param('Int64', String(Number(text.replace('.', ''))))}) / toFloat64(${param('Int64', `1${'0'.repeat(decimals)}`)}))`;
}

/**
 * metricFunctions.ts's quantile (Prometheus' linear interpolation between the closest ranks):
 * rank = φ·(n − 1); sorted[⌊rank⌋]·(1 − w) + sorted[min(n − 1, ⌊rank⌋ + 1)]·w, w = rank − ⌊rank⌋.
 */
function quantileSql(phi: string): string {
  const sorted = 'arraySort(groupArray(u_v))';
  const rank = `(${phi} * (length(${sorted}) - 1))`;
  const lower = `toUInt64(floor(${rank}))`;
  const upper = `least(length(${sorted}) - 1, ${lower} + 1)`;
  const weight = `(${rank} - floor(${rank}))`;
  return `(arrayElement(${sorted}, ${lower} + 1) * (1 - ${weight}) + arrayElement(${sorted}, ${upper} + 1) * ${weight})`;
}

/**
 * Integers whose magnitudes add up to at most 2^53 sum to the same double in any order: every
 * partial sum is an integer no larger, which a double holds exactly.
 */
const exactSumSql = 'countIf(u_v != floor(u_v)) = 0 AND sum(abs(u_v)) <= 9007199254740992';

/**
 * The window's value of `fn` (`value`, which SQL could not vouch for where `exact` is false),
 * or its values in the engine's order (`values`) for the engine to apply `fn` to.
 */
export function unwrapWindowFunctionSql(
  fn: RangeFunction,
  phi: number | undefined,
  param: (type: string, value: unknown) => string,
): { value: string; exact?: string } | { values: string } | undefined {
  switch (fn) {
    case 'sum_over_time':
      // Summed in any order (ClickHouse's sum sets none): the engine's only where no order rounds.
      return { value: 'sum(u_v)', exact: exactSumSql };
    case 'min_over_time':
      return { value: 'min(u_v)' };
    case 'max_over_time':
      return { value: 'max(u_v)' };
    case 'first_over_time':
      return { value: 'argMin(u_v, (u_t, u_v))' };
    case 'last_over_time':
      return { value: 'argMax(u_v, (u_t, u_v))' };
    case 'quantile_over_time': {
      const phiText = phi === undefined ? undefined : phiSql(phi, param);
      return phiText === undefined ? { values: orderedValuesSql } : { value: quantileSql(phiText) };
    }
    case 'avg_over_time':
    case 'stdvar_over_time':
    case 'stddev_over_time':
      return { values: orderedValuesSql };
    default:
      return undefined;
  }
}
