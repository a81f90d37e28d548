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

interface StreamsResponse {
  data: { resultType: 'streams'; result: { stream: Record<string, string>; values: [string, string][] }[]; stats?: { summary?: { execTime?: number; totalLinesProcessed?: number } } };
}

interface MatrixResponse {
  data: { resultType: 'matrix' | 'vector' | 'scalar'; result: { metric: Record<string, string>; values: [number, string][] }[] };
}

export const levelOf = (labels: Record<string, string>) => labels.detected_level ?? labels.level ?? '';

export interface LogsResult {
  entries: LogEntry[];
  execSeconds: number;
  linesProcessed: number;
}

/** A log query over a range, newest first (or oldest first with direction forward). */
export async function queryLogs(query: string, startMs: number, endMs: number, options: { limit: number; direction?: 'forward' | 'backward'; signal?: AbortSignal }): Promise<LogsResult> {
  const response = await api<StreamsResponse>('/loki/api/v1/query_range', {
    query: { query, start: msToNs(startMs), end: msToNs(endMs), limit: options.limit, direction: options.direction ?? 'backward' },
    signal: options.signal,
  });
  if (response.data.resultType !== 'streams') throw new Error('a metric query: the list shows log queries only');
  const entries: LogEntry[] = [];
  for (const stream of response.data.result) {
    for (const [tsNs, line] of stream.values) entries.push({ key: '', tsNs, ms: Number(BigInt(tsNs) / 1_000_000n), line, labels: stream.stream });
  }
  const forward = options.direction === 'forward';
  entries.sort((a, b) => (BigInt(a.tsNs) < BigInt(b.tsNs) ? (forward ? -1 : 1) : BigInt(a.tsNs) > BigInt(b.tsNs) ? (forward ? 1 : -1) : 0));
  entries.forEach((entry, index) => (entry.key = `${entry.tsNs}:${index}`));
  const summary = response.data.stats?.summary;
  return { entries, execSeconds: summary?.execTime ?? 0, linesProcessed: summary?.totalLinesProcessed ?? 0 };
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

/** Lines per level and step: `sum by (detected_level) (count_over_time(<query>[step]))`. */
export async function queryVolume(logQuery: string, startMs: number, endMs: number, stepSeconds: number, signal?: AbortSignal): Promise<VolumeSeries[]> {
  const response = await api<MatrixResponse>('/loki/api/v1/query_range', {
    query: { query: `sum by (detected_level) (count_over_time(${logQuery} [${stepSeconds}s]))`, start: msToNs(startMs), end: msToNs(endMs), step: `${stepSeconds}s` },
    signal,
  });
  return response.data.result.map((series) => ({ level: series.metric.detected_level ?? '', points: series.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
}

export async function labelNames(startMs: number, endMs: number): Promise<string[]> {
  return (await api<{ data: string[] }>('/loki/api/v1/labels', { query: { start: msToNs(startMs), end: msToNs(endMs) } })).data ?? [];
}

export async function labelValues(name: string, startMs: number, endMs: number): Promise<string[]> {
  return (await api<{ data: string[] }>(`/loki/api/v1/label/${encodeURIComponent(name)}/values`, { query: { start: msToNs(startMs), end: msToNs(endMs) } })).data ?? [];
}

/** A LogQL string literal. */
export const logqlString = (value: string) => JSON.stringify(value);

/** Whether a query is a log query (a selector and pipeline) rather than a metric query. */
export const isLogQuery = (query: string) => query.trim().startsWith('{');
