/** A time range as kept in the URL: `now`, `now-15m`, or epoch milliseconds. */
export interface TimeRange {
  from: string;
  to: string;
}

export const defaultRange: TimeRange = { from: 'now-1h', to: 'now' };

const unitMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of one end of a range, relative ends taken against `now`. */
export function resolveTime(value: string, now: number): number {
  if (value === 'now') return now;
  const relative = /^now-(\d+)([smhdw])$/.exec(value);
  if (relative) return now - Number(relative[1]) * unitMs[relative[2]];
  const ms = Number(value);
  return Number.isFinite(ms) ? ms : now;
}

export function resolveRange(range: TimeRange, now = Date.now()): { startMs: number; endMs: number } {
  return { startMs: resolveTime(range.from, now), endMs: resolveTime(range.to, now) };
}

export const presets: { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
];

export function describeRange(range: TimeRange, format: (ms: number) => string): string {
  const preset = range.to === 'now' && presets.find((candidate) => candidate.from === range.from);
  if (preset) return preset.label;
  const now = Date.now();
  return `${format(resolveTime(range.from, now))} → ${range.to === 'now' ? 'now' : format(resolveTime(range.to, now))}`;
}

/** 7200 → `2h`, 90 → `90s`: the largest unit that divides it, so presets are recognised. */
function relativeText(seconds: number): string {
  for (const [unit, ms] of Object.entries(unitMs).reverse()) if ((seconds * 1000) % ms === 0) return `${(seconds * 1000) / ms}${unit}`;
  return `${seconds}s`;
}

/**
 * Twice the range around its middle, as Grafana's zoom out: a range ending
 * now stays relative (`now-1h` → `now-2h`, ending now); an absolute one
 * widens both ways, never past now.
 */
export function zoomedOut(range: TimeRange, now = Date.now()): TimeRange {
  const { startMs, endMs } = resolveRange(range, now);
  const span = Math.max(endMs - startMs, 1000);
  if (range.to === 'now') return { from: `now-${relativeText(Math.ceil((2 * span) / 1000))}`, to: 'now' };
  const to = Math.min(now, endMs + span / 2);
  return { from: String(Math.round(to - 2 * span)), to: String(Math.round(to)) };
}

/** Milliseconds as nanoseconds, the unit Loki's API takes. */
export const msToNs = (ms: number) => `${Math.round(ms)}000000`;
