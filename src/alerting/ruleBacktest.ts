import { MeshlogError } from '../errors.js';
import type { MetricExpr } from '../query/logql/ast.js';
import { evaluateMetric } from '../query/logql/evaluateMetric.js';
import { stepsOf } from '../query/logql/metricValue.js';
import type { QueryContext } from '../query/logql/queryContext.js';

/** A backtest reads at most this much of the past: a week at the rule's own step is already up to 10,080 evaluations a minute apart. */
export const maxBacktestRangeMs = 7 * 24 * 3_600_000;
/** Evaluations one backtest may make (Loki's points per series). */
export const maxBacktestSteps = 11_000;

/** One time a series of the rule would have fired: when it fired, when it resolved (undefined: still firing at the end). */
export interface BacktestFiring {
  firedAtMs: number;
  resolvedAtMs?: number;
  /** The expression's value when it fired. */
  value: number;
}

export interface BacktestSeries {
  labels: Record<string, string>;
  firings: BacktestFiring[];
}

export interface BacktestRange {
  startMs: number;
  endMs: number;
  stepMs: number;
}

/** Refuses a range the server will not replay, naming the limit. */
export function checkBacktestRange(range: BacktestRange): void {
  if (range.endMs < range.startMs) throw new MeshlogError('ML_QUERY_INVALID', 'the end of a backtest must not be before its start');
  if (range.stepMs < 1000) throw new MeshlogError('ML_QUERY_INVALID', 'the step of a backtest is at least 1s');
  if (range.endMs - range.startMs > maxBacktestRangeMs)
    throw new MeshlogError('ML_QUERY_LIMIT', `a backtest covers at most 7 days (${maxBacktestRangeMs / 1000}s): shorten the range`);
  const steps = Math.floor((range.endMs - range.startMs) / range.stepMs) + 1;
  if (steps > maxBacktestSteps)
    throw new MeshlogError(
      'ML_QUERY_LIMIT',
      `a backtest makes at most ${maxBacktestSteps} evaluations, this one would make ${steps}: use a larger step or a shorter range`,
    );
}

/**
 * Replays an alert rule's expression at every step of a past range, as the
 * rule engine evaluates it (Prometheus semantics): a series present at a step
 * holds; held for `forMs` it fires; absent again it resolves.
 */
export async function backtestRule(expr: MetricExpr, forMs: number, range: BacktestRange, ctx: QueryContext): Promise<BacktestSeries[]> {
  checkBacktestRange(range);
  const stepNs = BigInt(range.stepMs) * 1_000_000n;
  const value = await evaluateMetric(
    expr,
    ctx,
    stepsOf(BigInt(range.startMs) * 1_000_000n, BigInt(range.endMs) * 1_000_000n, stepNs, ctx.limits),
  );
  // A bare number is no alert rule: it holds always or never, for no series.
  if (value.kind !== 'vector')
    throw new MeshlogError('ML_QUERY_INVALID', 'an alert rule expression returns series (a vector), not a scalar');
  const result: BacktestSeries[] = [];
  for (const series of value.series) {
    const firings: BacktestFiring[] = [];
    let activeAtMs: number | undefined;
    let firing: BacktestFiring | undefined;
    series.values.forEach((sample, index) => {
      const atMs = range.startMs + index * range.stepMs;
      if (Number.isNaN(sample)) {
        if (firing) firing.resolvedAtMs = atMs;
        activeAtMs = undefined;
        firing = undefined;
        return;
      }
      activeAtMs ??= atMs;
      if (!firing && atMs - activeAtMs >= forMs) {
        firing = { firedAtMs: atMs, value: sample };
        firings.push(firing);
      }
    });
    if (firings.length > 0) result.push({ labels: series.labels, firings });
  }
  return result.sort((a, b) => a.firings[0].firedAtMs - b.firings[0].firedAtMs);
}
