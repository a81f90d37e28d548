import type { LokiLabelsResponse, LokiQueryResponse } from '@api/loki';
import { api } from './client';
import { msToNs } from '../shell/timeRange';

/** One log line with every field the query API returns (stream labels and structured metadata). */
export interface LogEntry {
  /** Unique within a result: timestamp and position. */
  key: string;
  tsNs: string;
  ms: number;
  line: string;
  labels: Record<string, string>;
}

export const levelOf = (labels: Record<string, string>) => labels.detected_level ?? labels.level ?? '';

export interface LogsResult {
  entries: LogEntry[];
  execSeconds: number;
  linesProcessed: number;
}

/** One query_range call: its lines in the order asked for, keyed by timestamp and position. */
export async function queryLogs(
  query: string,
  startMs: number,
  endMs: number,
  options: { limit: number; direction?: 'forward' | 'backward'; signal?: AbortSignal; endNs?: string },
): Promise<LogsResult> {
  const response = await api<LokiQueryResponse>('/loki/api/v1/query_range', {
    query: {
      query,
      start: msToNs(startMs),
      end: options.endNs ?? msToNs(endMs),
      limit: options.limit,
      direction: options.direction ?? 'backward',
    },
    signal: options.signal,
  });
  if (response.data.resultType !== 'streams') throw new Error('a metric query: the list shows log queries only');
  const entries: LogEntry[] = [];
  for (const stream of response.data.result) {
    for (const [tsNs, line] of stream.values)
      entries.push({ key: '', tsNs, ms: Number(BigInt(tsNs) / 1_000_000n), line, labels: stream.stream });
  }
  const forward = options.direction === 'forward';
  entries.sort((a, b) => (BigInt(a.tsNs) < BigInt(b.tsNs) ? (forward ? -1 : 1) : BigInt(a.tsNs) > BigInt(b.tsNs) ? (forward ? 1 : -1) : 0));
  entries.forEach((entry, index) => (entry.key = `${entry.tsNs}:${index}`));
  const summary = response.data.stats?.summary;
  return { entries, execSeconds: summary?.execTime ?? 0, linesProcessed: summary?.totalLinesProcessed ?? 0 };
}

const identityOf = (entry: LogEntry) => `${entry.line}\u0000${JSON.stringify(entry.labels)}`;

/**
 * Up to `limit` lines, newest first, in queries of at most `pageSize` (the
 * server's query.max_lines) as Grafana pages Loki: each next query ends just
 * after the oldest line so far, and the lines already seen at that instant are
 * dropped. `onPage` gets everything loaded so far after each query.
 */
export async function queryLogPages(
  query: string,
  startMs: number,
  endMs: number,
  options: { limit: number; pageSize: number; signal?: AbortSignal; onPage?: (result: LogsResult) => void; endNs?: string },
): Promise<LogsResult> {
  const entries: LogEntry[] = [];
  let execSeconds = 0;
  let linesProcessed = 0;
  let endNs: string | undefined = options.endNs;
  let seenAtBoundary = new Set<string>();
  while (entries.length < options.limit) {
    const asked = Math.min(options.pageSize, options.limit - entries.length + seenAtBoundary.size);
    const page = await queryLogs(query, startMs, endMs, { limit: asked, signal: options.signal, endNs });
    execSeconds += page.execSeconds;
    linesProcessed += page.linesProcessed;
    const boundary = entries.length ? entries[entries.length - 1].tsNs : undefined;
    const fresh = page.entries.filter((entry) => entry.tsNs !== boundary || !seenAtBoundary.has(identityOf(entry)));
    for (const entry of fresh.slice(0, options.limit - entries.length)) {
      entry.key = `${entry.tsNs}:${entries.length}`;
      entries.push(entry);
    }
    options.onPage?.({ entries: entries.slice(), execSeconds, linesProcessed });
    // A short page is the end of the range; a page of nothing new means more lines share one instant than a page holds.
    if (page.entries.length < asked || fresh.length === 0 || entries.length === 0) break;
    const oldest = entries[entries.length - 1].tsNs;
    if (oldest !== boundary) seenAtBoundary = new Set();
    for (let i = entries.length - 1; i >= 0 && entries[i].tsNs === oldest; i--) seenAtBoundary.add(identityOf(entries[i]));
    endNs = (BigInt(oldest) + 1n).toString();
  }
  return { entries, execSeconds, linesProcessed };
}

/**
 * The next `count` lines older than those loaded (newest first), for "load
 * older lines" at the limit: one more page that ends just after the oldest
 * loaded line, without the lines already loaded at that instant.
 */
export async function queryOlderLogs(
  query: string,
  startMs: number,
  loaded: LogEntry[],
  options: { count: number; pageSize: number; signal?: AbortSignal },
): Promise<LogsResult> {
  const oldest = loaded[loaded.length - 1];
  const seen = new Set(loaded.filter((entry) => entry.tsNs === oldest.tsNs).map(identityOf));
  const more = await queryLogPages(query, startMs, oldest.ms + 1, {
    limit: options.count + seen.size,
    pageSize: options.pageSize,
    signal: options.signal,
    endNs: (BigInt(oldest.tsNs) + 1n).toString(),
  });
  const fresh = more.entries.filter((entry) => entry.tsNs !== oldest.tsNs || !seen.has(identityOf(entry))).slice(0, options.count);
  fresh.forEach((entry, index) => (entry.key = `${entry.tsNs}:${loaded.length + index}`));
  return { ...more, entries: fresh };
}

export interface VolumeSeries {
  level: string;
  /** [seconds, count] */
  points: [number, number][];
}

/** A step that splits the range into about `buckets` bars, rounded to a readable width. */
export function histogramStepSeconds(startMs: number, endMs: number, buckets = 80): number {
  const raw = Math.max((endMs - startMs) / 1000 / buckets, 1);
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  return nice.find((step) => step >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

export interface MetricSeries {
  labels: Record<string, string>;
  /** [ms, value] */
  points: [number, number][];
}

/** A metric query over a range, one series per label set (Loki answers a matrix). */
export async function queryMetric(
  query: string,
  startMs: number,
  endMs: number,
  stepSeconds: number,
  signal?: AbortSignal,
): Promise<{ series: MetricSeries[]; execSeconds: number }> {
  const response = await api<LokiQueryResponse>('/loki/api/v1/query_range', {
    query: { query, start: msToNs(startMs), end: msToNs(endMs), step: `${stepSeconds}s` },
    signal,
  });
  if (response.data.resultType !== 'matrix')
    throw new Error(`a ${response.data.resultType} result: Explore graphs range results (a matrix)`);
  return {
    series: response.data.result.map((series) => ({
      labels: series.metric,
      points: series.values.map(([t, v]) => [t * 1000, Number(v)] as [number, number]),
    })),
    execSeconds: response.data.stats?.summary?.execTime ?? 0,
  };
}

/** `{service_name="checkout", level="error"}`: how a series is named in a legend. */
export const seriesName = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ')}}`;

/** Lines per level and step: `sum by (detected_level) (count_over_time(<query>[step]))`. */
export async function queryVolume(
  logQuery: string,
  startMs: number,
  endMs: number,
  stepSeconds: number,
  signal?: AbortSignal,
): Promise<VolumeSeries[]> {
  const response = await api<LokiQueryResponse>('/loki/api/v1/query_range', {
    query: {
      query: `sum by (detected_level) (count_over_time(${logQuery} [${stepSeconds}s]))`,
      start: msToNs(startMs),
      end: msToNs(endMs),
      step: `${stepSeconds}s`,
    },
    signal,
  });
  if (response.data.resultType !== 'matrix')
    throw new Error(`a ${response.data.resultType} result: the histogram reads a range query's matrix`);
  return response.data.result.map((series) => ({
    level: series.metric.detected_level ?? '',
    points: series.values.map(([t, v]) => [t, Number(v)] as [number, number]),
  }));
}

export async function labelNames(startMs: number, endMs: number): Promise<string[]> {
  return (await api<LokiLabelsResponse>('/loki/api/v1/labels', { query: { start: msToNs(startMs), end: msToNs(endMs) } })).data ?? [];
}

export async function labelValues(name: string, startMs: number, endMs: number): Promise<string[]> {
  return (
    (
      await api<LokiLabelsResponse>(`/loki/api/v1/label/${encodeURIComponent(name)}/values`, {
        query: { start: msToNs(startMs), end: msToNs(endMs) },
      })
    ).data ?? []
  );
}

/** A LogQL string literal. */
export const logqlString = (value: string) => JSON.stringify(value);

/** Whether a query is a log query (a selector and pipeline) rather than a metric query. */
export const isLogQuery = (query: string) => query.trim().startsWith('{');
