import type { EntryCategories } from './tail.js';

/**
 * Loki's query API answers (`/loki/api/v1/query_range`, `/query`, `/labels`,
 * `/label/<name>/values`, `/index/volume`…), as meshlog's routes build them
 * (src/query/routes/lokiMarshal.ts) and the UI reads them (web/src/api/loki.ts).
 */

/** One stream of a log query: its labels and its [ns timestamp, line] entries (with categories under categorize-labels). */
export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string, EntryCategories?][];
}

/** One series of an instant vector: its labels and [seconds, value]. */
export interface LokiSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** One series of a matrix: its labels and its [seconds, value] points. */
export interface LokiSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export type LokiMetricData =
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'vector'; result: LokiSample[] }
  | { resultType: 'matrix'; result: LokiSeries[] };

/** A query's `stats`, in Loki's shape; its ingester and store parts are all zero (meshlog has neither). */
export interface LokiQueryStats {
  ingester: Record<string, number>;
  store: Record<string, number>;
  summary: {
    bytesProcessedPerSecond: number;
    /** Seconds. */
    execTime: number;
    linesProcessedPerSecond: number;
    queueTime: number;
    totalBytesProcessed: number;
    totalLinesProcessed: number;
    totalEntriesReturned: number;
    subqueries: number;
    splits: number;
    shards: number;
  };
}

/** `data` of `/query_range` and `/query`: streams for a log query, a metric result otherwise; `encodingFlags` when the request set any. */
export type LokiQueryData = ({ resultType: 'streams'; result: LokiStream[] } | LokiMetricData) & {
  stats: LokiQueryStats;
  encodingFlags?: string[];
};

export interface LokiQueryResponse {
  status: 'success';
  data: LokiQueryData;
}

/** `/labels` and `/label/<name>/values`. */
export interface LokiLabelsResponse {
  status: 'success';
  data: string[];
}
