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

interface MatrixResponse {
  data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
}

/**
 * Replays a rule's expression over the last `windowMs` at the rule's
 * evaluation step with query_range (the same engine the rule engine
 * evaluates with): a comparison keeps only the steps where the condition
 * held, and a run of such steps at least `forMs` long would have fired at
 * its start plus `forMs`, as a pending alert becomes firing.
 */
export async function backtestRule(expr: string, forMs: number, intervalMs: number, windowMs: number): Promise<Backtest> {
  const toMs = Date.now();
  const fromMs = toMs - windowMs;
  // At most about 1,000 evaluations: the interval, or coarser over a long window.
  const stepSeconds = Math.max(1, Math.ceil(intervalMs / 1000), Math.ceil(windowMs / 1000 / 1000));
  const response = await api<MatrixResponse>('/loki/api/v1/query_range', { query: { query: expr, start: msToNs(fromMs), end: msToNs(toMs), step: `${stepSeconds}s` } });
  const fired: WouldHaveFired[] = [];
  for (const series of response.data.result) {
    let runStart: number | undefined;
    let previous: number | undefined;
    let firing = false;
    let entry: WouldHaveFired | undefined;
    for (const [seconds, value] of series.values) {
      const atMs = seconds * 1000;
      // A missing step ends the run: the condition did not hold then.
      if (previous === undefined || atMs - previous > stepSeconds * 1000) {
        runStart = atMs;
        firing = false;
      }
      previous = atMs;
      if (!firing && atMs - runStart! >= forMs) {
        firing = true;
        if (entry) entry.times++;
        else entry = { labels: series.metric, firstMs: atMs, times: 1, value };
      }
    }
    if (entry) fired.push(entry);
  }
  fired.sort((a, b) => a.firstMs - b.firstMs);
  return { fromMs, toMs, stepSeconds, fired };
}
