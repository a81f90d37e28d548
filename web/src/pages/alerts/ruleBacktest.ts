import type { RuleBacktestResponse } from '@api/alerts';
import { api } from '../../api/client';
import { msToNs } from '../../shell/timeRange';

/** When a rule would have fired over a past window: one entry per series that held for the rule's `for`. */
export interface WouldHaveFired {
  labels: Record<string, string>;
  /** When the series would have gone from pending to firing (the first time in the window). */
  firstMs: number;
  /** How many separate times it would have fired. */
  times: number;
  /** The expression's value at the first firing. */
  value: string;
}

export interface Backtest {
  fromMs: number;
  toMs: number;
  stepSeconds: number;
  fired: WouldHaveFired[];
}

/**
 * Replays a rule's expression over the last `windowMs` at the rule's
 * evaluation step on the server (the rule engine's semantics: pending until
 * the condition held for `forMs`, then firing until it stops holding).
 */
export async function backtestRule(expr: string, forMs: number, intervalMs: number, windowMs: number): Promise<Backtest> {
  const toMs = Date.now();
  const fromMs = toMs - windowMs;
  // At most about 1,000 evaluations: the interval, or coarser over a long window.
  const stepSeconds = Math.max(1, Math.ceil(intervalMs / 1000), Math.ceil(windowMs / 1000 / 1000));
  const response = await api<RuleBacktestResponse>('/api/v1/alerts/backtest', {
    query: { expr, for: forMs > 0 ? `${forMs}ms` : undefined, start: msToNs(fromMs), end: msToNs(toMs), step: `${stepSeconds}s` },
  });
  const fired: WouldHaveFired[] = response.series.map((series) => ({
    labels: series.labels,
    firstMs: Date.parse(series.firings[0].fired_at),
    times: series.firings.length,
    value: String(series.firings[0].value),
  }));
  return { fromMs, toMs, stepSeconds, fired };
}
