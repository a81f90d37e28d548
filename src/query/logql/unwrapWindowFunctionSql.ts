import type { RangeFunction } from './ast.js';

/**
 * A range function of unwrapped values computed by ClickHouse over one (group, window)
 * of compileUnwrapWindows' rows (`u_t`: time, `u_v`: value), to the very double the
 * engine's rangeValue (metricFunctions.ts) gives for that window. The values are finite
 * and never -0 (unwrapValueSql.ts converts no other), so min, max and a sort by value
 * agree with JavaScript's whatever the order; the functions whose rounding depends on
 * the order (the incremental mean, Welford's variance) fold the values one by one in
 * the engine's order, (time, value), with the engine's operations in the engine's
 * grouping: IEEE additions, subtractions, multiplications and divisions of doubles
 * round alike everywhere. stddev_over_time is the variance here; the engine takes its
 * square root. Undefined for a function this file does not compute.
 */

/** Functions computed here (rangeAggregation.ts windows only these). */
export const windowFunctions = new Set<RangeFunction>([
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
const ordered = 'arrayMap(x -> x.2, arraySort(groupArray((u_t, u_v))))';

/** metricFunctions.ts's mean: result += value / (i + 1) - result / (i + 1), i from 0. */
const meanSql = `arrayFold((acc, x) -> (acc.1 + 1, acc.2 + (x / (acc.1 + 1) - acc.2 / (acc.1 + 1))), ${ordered}, (toFloat64(0), toFloat64(0))).2`;

/**
 * metricFunctions.ts's variance (Welford): delta = value − average; average += delta / (i + 1);
 * aux += delta · (value − average), the updated average; aux / n. The accumulator is (i, average, aux).
 */
const varianceSql = (() => {
  const n = 'acc.1 + 1';
  const delta = '(x - acc.2)';
  const average = `(acc.2 + ${delta} / (${n}))`;
  const fold = `arrayFold((acc, x) -> (${n}, ${average}, acc.3 + ${delta} * (x - ${average})), ${ordered}, (toFloat64(0), toFloat64(0), toFloat64(0)))`;
  return `(${fold}.3 / ${fold}.1)`;
})();

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

/** The aggregate expression of `fn` over a window's rows; for stddev_over_time, the variance. */
export function unwrapWindowFunctionSql(
  fn: RangeFunction,
  phi: number | undefined,
  param: (type: string, value: unknown) => string,
): string | undefined {
  switch (fn) {
    case 'min_over_time':
      return 'min(u_v)';
    case 'max_over_time':
      return 'max(u_v)';
    case 'first_over_time':
      return 'argMin(u_v, (u_t, u_v))';
    case 'last_over_time':
      return 'argMax(u_v, (u_t, u_v))';
    case 'avg_over_time':
      return meanSql;
    case 'stdvar_over_time':
    case 'stddev_over_time':
      return varianceSql;
    case 'quantile_over_time': {
      const phiText = phi === undefined ? undefined : phiSql(phi, param);
      return phiText === undefined ? undefined : quantileSql(phiText);
    }
    default:
      return undefined;
  }
}
