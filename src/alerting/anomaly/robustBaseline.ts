/** Median and median absolute deviation: a baseline that one past incident cannot drag along. */
export interface RobustBaseline {
  median: number;
  mad: number;
}

function median(sorted: number[]): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function robustBaseline(values: number[]): RobustBaseline {
  const sorted = [...values].sort((a, b) => a - b);
  const center = median(sorted);
  const deviations = sorted.map((value) => Math.abs(value - center)).sort((a, b) => a - b);
  return { median: center, mad: median(deviations) };
}

/**
 * How many robust standard deviations `value` lies from the baseline. The
 * scale never falls below `floor`, so a perfectly flat history does not make
 * every wobble infinitely surprising.
 */
export function robustScore(value: number, baseline: RobustBaseline, floor: number): number {
  return (value - baseline.median) / Math.max(1.4826 * baseline.mad, floor);
}
