import { MeshlogError } from '../../errors.js';
import type { RangeAggregation, VectorAggregation } from './ast.js';

export interface Sample {
  /** ns after the evaluation origin. */
  t: number;
  entries: number;
  bytes: number;
  value: number;
}

/** Prometheus' quantile as Loki computes it: linear interpolation between the closest ranks. */
function quantile(phi: number, sorted: number[]): number {
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const rank = phi * (sorted.length - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(sorted.length - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

/** Incremental mean, as Loki's avg_over_time and avg compute it (same rounding as Loki, not sum/count). */
function mean(values: number[]): number {
  let result = 0;
  values.forEach((value, index) => {
    result += value / (index + 1) - result / (index + 1);
  });
  return result;
}

/** Population variance by Welford's method, as Loki's stdvar_over_time and stdvar compute it. */
function variance(values: number[]): number {
  let average = 0;
  let aux = 0;
  values.forEach((value, index) => {
    const delta = value - average;
    average += delta / (index + 1);
    aux += delta * (value - average);
  });
  return aux / values.length;
}

/**
 * rate_counter: Loki's extrapolatedRate(samples, range, rangeEnd, isCounter, isRate)
 * (pkg/logql/range_vector.go): sample times in seconds from ns, the window's own
 * bounds as the range, a drop in value a counter reset (the value before it added
 * back), fewer than two samples 0. The start is extrapolated by half an average
 * interval when the first sample is far from it, never below a zero counter.
 */
function counterRate(list: Sample[], lo: number, hi: number, rangeMs: number, windowEnd: number): number {
  if (hi - lo < 2) return 0;
  const first = list[lo];
  const last = list[hi - 1];
  let increase = last.value - first.value;
  let previous = 0;
  for (let i = lo; i < hi; i++) {
    if (list[i].value < previous) increase += previous;
    previous = list[i].value;
  }
  const windowStart = windowEnd - rangeMs * 1e6;
  let durationToStart = (first.t - windowStart) / 1e9;
  let durationToEnd = (windowEnd - last.t) / 1e9;
  const sampledInterval = (last.t - first.t) / 1e9;
  const averageInterval = sampledInterval / (hi - lo - 1);
  const threshold = averageInterval * 1.1;
  if (durationToStart >= threshold) durationToStart = averageInterval / 2;
  // A counter starts at zero: never extrapolate below it.
  const durationToZero = increase > 0 && first.value >= 0 ? sampledInterval * (first.value / increase) : durationToStart;
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= threshold) durationToEnd = averageInterval / 2;
  return (increase * ((sampledInterval + durationToStart + durationToEnd) / sampledInterval)) / (rangeMs / 1000);
}

/** `windowEnd`: the window's end, in ns after the evaluation origin like sample times. */
export function rangeValue(
  node: RangeAggregation,
  list: Sample[],
  lo: number,
  hi: number,
  rangeSeconds: number,
  windowEnd: number,
): number {
  let entries = 0;
  let bytes = 0;
  for (let i = lo; i < hi; i++) {
    entries += list[i].entries;
    bytes += list[i].bytes;
  }
  const values = () => list.slice(lo, hi).map((sample) => sample.value);
  switch (node.fn) {
    case 'count_over_time':
      return entries;
    case 'rate':
      return node.unwrap ? values().reduce((a, b) => a + b, 0) / rangeSeconds : entries / rangeSeconds;
    case 'bytes_over_time':
      return bytes;
    case 'bytes_rate':
      return bytes / rangeSeconds;
    case 'sum_over_time':
      return values().reduce((a, b) => a + b, 0);
    case 'avg_over_time':
      return mean(values());
    case 'min_over_time':
      return Math.min(...values());
    case 'max_over_time':
      return Math.max(...values());
    case 'stddev_over_time':
      return Math.sqrt(variance(values()));
    case 'stdvar_over_time':
      return variance(values());
    case 'quantile_over_time':
      return quantile(
        node.param!,
        values().sort((a, b) => a - b),
      );
    case 'first_over_time':
      return list[lo].value;
    case 'last_over_time':
      return list[hi - 1].value;
    case 'rate_counter':
      return counterRate(list, lo, hi, node.rangeMs, windowEnd);
    default:
      throw new MeshlogError('ML_QUERY_INVALID', `${node.fn} is not supported`);
  }
}

export function aggregate(op: VectorAggregation['op'], values: number[]): number {
  switch (op) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return mean(values);
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'count':
      return values.length;
    case 'stddev':
      return Math.sqrt(variance(values));
    case 'stdvar':
      return variance(values);
    default:
      throw new MeshlogError('ML_QUERY_INVALID', `${op} is not an aggregation of values`);
  }
}

export const arithmetic: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
  '^': (a, b) => a ** b,
  '==': (a, b) => Number(a === b),
  '!=': (a, b) => Number(a !== b),
  '>': (a, b) => Number(a > b),
  '>=': (a, b) => Number(a >= b),
  '<': (a, b) => Number(a < b),
  '<=': (a, b) => Number(a <= b),
};
export const comparisonOps = new Set(['==', '!=', '>', '>=', '<', '<=']);
