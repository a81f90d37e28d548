import { MeshlogError } from '../../errors.js';
import type { QueryLimits } from './queryContext.js';

/** Evaluation instants of a query: start, start+step, … ≤ end (an instant query has one). */
export interface Steps {
  startNs: bigint;
  stepNs: bigint;
  count: number;
}

export interface Series {
  labels: Record<string, string>;
  /** One value per step; NaN where the series has no sample. */
  values: Float64Array;
}

export type MetricValue = { kind: 'scalar'; values: Float64Array } | { kind: 'vector'; series: Series[] };

export function stepsOf(startNs: bigint, endNs: bigint, stepNs: bigint, limits: QueryLimits): Steps {
  if (stepNs <= 0n)
    throw new MeshlogError('ML_QUERY_INVALID', 'zero or negative query resolution step widths are not accepted: use a positive step');
  if (endNs < startNs) throw new MeshlogError('ML_QUERY_INVALID', 'the end timestamp must not be before the start time');
  const count = Number((endNs - startNs) / stepNs) + 1;
  if (count > limits.maxPoints) {
    throw new MeshlogError(
      'ML_QUERY_LIMIT',
      `exceeded maximum resolution of ${limits.maxPoints} points per time series: use a larger step`,
    );
  }
  return { startNs, stepNs, count };
}
