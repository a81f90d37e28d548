import type { LokiMetricData, LokiQueryStats, LokiSample, LokiSeries, LokiStream } from '../../api/loki.js';
import type { MetricValue } from '../logql/metricValue.js';
import type { Stream } from '../logql/selectStreams.js';
import { compareLabels } from '../logql/labelSet.js';
import type { QueryRun, Volume, VolumeSeries } from '../querier.js';

/** Loki's JSON answers (its HTTP API's shapes, src/api/loki.ts), built from the Querier's. */

type Run = QueryRun<unknown>['run'];

/** Go's strconv.FormatFloat(v, 'f', -1, 64) spelling of sample values. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Loki's timestamps of samples: float seconds. */
function seconds(ns: bigint): number {
  return Number(ns / 1_000_000n) / 1000;
}

/** Loki's ingester and store statistics: meshlog has neither ingesters nor chunks, so all zero, in Loki's shape. */
const noIngester = {
  compressedBytes: 0,
  decompressedBytes: 0,
  decompressedLines: 0,
  headChunkBytes: 0,
  headChunkLines: 0,
  totalBatches: 0,
  totalChunksMatched: 0,
  totalDuplicates: 0,
  totalLinesSent: 0,
  totalReached: 0,
};
const noStore = {
  compressedBytes: 0,
  decompressedBytes: 0,
  decompressedLines: 0,
  chunksDownloadTime: 0,
  totalChunksRef: 0,
  totalChunksDownloaded: 0,
  totalDuplicates: 0,
};

/** A query's `stats`; `started` is performance.now() when the request began. */
export function queryStats(run: Run, started: number, returned: number): LokiQueryStats {
  const execTime = (performance.now() - started) / 1000;
  const perSecond = (n: number) => (execTime > 0 ? Math.round(n / execTime) : 0);
  return {
    ingester: noIngester,
    store: noStore,
    summary: {
      bytesProcessedPerSecond: perSecond(run.bytesRead),
      execTime,
      linesProcessedPerSecond: perSecond(run.rowsRead),
      queueTime: 0,
      totalBytesProcessed: run.bytesRead,
      totalLinesProcessed: run.rowsRead,
      totalEntriesReturned: returned,
      subqueries: 0,
      splits: 0,
      shards: 0,
    },
  };
}

export const planHeaderName = 'X-Meshlog-Query-Plan';

/** How the query ran, as a response header: Loki's body has no place for it that every client tolerates. */
export function planHeader(run: Run): string {
  return JSON.stringify(run.plan).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** data with encodingFlags after resultType, where Loki's encoder writes it, when the request set any. */
export function withFlags<Data extends { resultType: string }>(data: Data, flags: string[]): Data & { encodingFlags?: string[] } {
  if (flags.length === 0) return data;
  const { resultType, ...rest } = data;
  return { resultType, encodingFlags: flags, ...rest } as Data & { encodingFlags: string[] };
}

export function streamsResult(streams: Stream[]): LokiStream[] {
  return streams.map((stream) => ({ stream: stream.labels, values: stream.entries }));
}

export function entriesReturned(streams: Stream[]): number {
  return streams.reduce((n, s) => n + s.entries.length, 0);
}

/** Instant vectors in label order unless sort()/sort_desc() ordered them; matrices always in label order (as Loki). */
export function metricResult(
  value: MetricValue,
  startNs: bigint,
  stepNs: bigint,
  instant: boolean,
  sortedByValue: boolean,
): LokiMetricData {
  const time = (k: number) => seconds(startNs + stepNs * BigInt(k));
  if (value.kind === 'scalar') return { resultType: 'scalar', result: [time(0), formatValue(value.values[0])] };
  if (instant) {
    const present = value.series.filter((s) => !Number.isNaN(s.values[0]));
    if (!sortedByValue) present.sort((a, b) => compareLabels(a.labels, b.labels));
    return { resultType: 'vector', result: present.map((s) => ({ metric: s.labels, value: [time(0), formatValue(s.values[0])] })) };
  }
  const result: LokiSeries[] = [];
  for (const series of value.series) {
    const points: [number, string][] = [];
    series.values.forEach((v, k) => Number.isNaN(v) || points.push([time(k), formatValue(v)]));
    if (points.length > 0) result.push({ metric: series.labels, values: points });
  }
  result.sort((a, b) => compareLabels(a.metric, b.metric));
  return { resultType: 'matrix', result };
}

/** /index/volume: a vector of bytes per series at the range's end. */
export function volumeResult(volumes: Volume[], endNs: bigint): { resultType: 'vector'; result: LokiSample[] } {
  return {
    resultType: 'vector',
    result: volumes.map((volume) => ({ metric: volume.metric, value: [seconds(endNs), String(volume.bytes)] })),
  };
}

/** /index/volume_range: a matrix in label order, the point at start + k·step holding bucket k's bytes. */
export function volumeRangeResult(
  volumes: VolumeSeries[],
  startNs: bigint,
  stepNs: bigint,
): { resultType: 'matrix'; result: LokiSeries[] } {
  const result = [...volumes]
    .sort((a, b) => compareLabels(a.metric, b.metric))
    .map((volume) => ({
      metric: volume.metric,
      values: [...volume.points]
        .sort(([a], [b]) => a - b)
        .map(([bucket, bytes]): [number, string] => [seconds(startNs + stepNs * BigInt(bucket)), String(bytes)]),
    }));
  return { resultType: 'matrix', result };
}
