import type { LabelMatcher, LogQuery, MetricExpr } from './logql/ast.js';
import {
  compileLabelNames,
  compileLabelValues,
  compileStreams,
  compileStreamVolumes,
  tenantLabel,
  type QueryScope,
  type StreamRow,
  type StreamVolumeRow,
} from './logql/compiler.js';
import { evaluateMetric } from './logql/evaluateMetric.js';
import type { MetricValue, Steps } from './logql/metricValue.js';
import type { QueryContext, QueryLimits } from './logql/queryContext.js';
import { selectStreams, type Stream } from './logql/selectStreams.js';
import { labelNameOf } from './logql/labelName.js';
import { labelsKey, sortedObject, streamLabels } from './logql/labelSet.js';
import type { QueryBudget } from './logql/queryBudget.js';
import { detectedFieldValues, detectFields, type DetectedField } from './detectedFields.js';
import type { TimeRange } from './lokiParams.js';
import { ReadPolicy } from './readPolicy.js';
import type { SqlRunner } from '../storage/sql.js';

/** Where queries run: the same for every request. */
export interface QuerySources {
  runner: SqlRunner;
  database: string;
  limits: QueryLimits;
}

/** Whose data one querier reads, under what masking and deadline. */
export interface QueryBinding {
  tenant: string;
  /** A multi-tenant read's tenants (Loki's `X-Scope-OrgID: a|b`): lines labelled `__tenant_id__`. */
  tenants?: readonly string[];
  policy: ReadPolicy;
  /** The read's deadline and cancellation. */
  budget?: QueryBudget;
}

/** An answer and how it was reached: the plan and what was read back. */
export interface QueryRun<T> {
  value: T;
  run: Pick<QueryContext, 'plan' | 'rowsRead' | 'bytesRead'>;
}

export interface SelectOptions {
  limit: number;
  direction: 'forward' | 'backward';
  categorize?: boolean;
  intervalNs?: bigint;
}

/** Which labels a volume is broken down by; `perLabel`: one `{name=""}` series per label a stream has (aggregateBy=labels). */
export interface VolumeBreakdown {
  labels: string[];
  perLabel: boolean;
}

export interface IndexStats {
  streams: number;
  chunks: number;
  entries: number;
  bytes: number;
}

export interface Volume {
  metric: Record<string, string>;
  bytes: number;
}

export interface VolumeSeries {
  metric: Record<string, string>;
  total: number;
  /** Bytes per step bucket k, for [start + k·step, start + (k+1)·step). */
  points: Map<number, number>;
}

export interface DetectedLabel {
  label: string;
  cardinality: number;
}

/** A stream's label values, read as the Loki label `level` is stored (`detected_level`). */
function storedName(name: string): string {
  return name === 'level' ? 'detected_level' : name;
}

/**
 * Largest first, ties by series as shown: the order of rows (by stored values)
 * must not order masked series for a masked reader.
 */
function largestFirst<T>(size: (volume: T) => number): (a: [string, T], b: [string, T]) => number {
  return ([aKey, a], [bKey, b]) => size(b) - size(a) || (aKey < bKey ? -1 : aKey > bKey ? 1 : 0);
}

/** Chunks (stream × hour) of streams told apart as the reader sees them: the hours of streams seen as one are counted once. */
function seenChunks(rows: StreamRow[], seen: string[]): number {
  const hours = new Map<string, Set<number>>();
  rows.forEach((row, i) => {
    const of = hours.get(seen[i]!) ?? new Set<number>();
    for (const hour of row.hour_list ?? []) of.add(Number(hour));
    hours.set(seen[i]!, of);
  });
  return [...hours.values()].reduce((n, of) => n + of.size, 0);
}

/** The series a stream's bytes count towards under a breakdown. */
function volumeMetrics(
  row: Pick<StreamRow, 'service_name' | 'level' | 'resource_attributes'>,
  by: VolumeBreakdown,
): Record<string, string>[] {
  const labels = streamLabels(row);
  const present = by.labels.filter((name) => labels.has(storedName(name)));
  if (by.perLabel) return present.map((name) => ({ [name]: '' }));
  return [Object.fromEntries(present.sort().map((name) => [name, labels.get(storedName(name))!]))];
}

/**
 * Everything a read asks of the logs (select, evaluate, labels, series,
 * stats, volume, detected fields and labels), bound to one read's tenants,
 * read policy and budget. Answers come back masked as the policy says,
 * in meshlog's shapes: the routes put them in their protocol's.
 */
export class Querier {
  constructor(
    private readonly sources: QuerySources,
    private readonly binding: QueryBinding,
  ) {}

  /** A fresh engine context of this binding, for readers that drive the engine themselves (backtests). */
  context(): QueryContext {
    return {
      database: this.sources.database,
      tenant: this.binding.tenant,
      tenants: this.binding.tenants,
      runner: this.sources.runner,
      limits: this.sources.limits,
      plan: [],
      rowsRead: 0,
      bytesRead: 0,
      masking: this.binding.policy.queryMasking,
      budget: this.binding.budget,
    };
  }

  /** Log lines of a log query, masked for the reader. */
  async select(expr: LogQuery, range: TimeRange, options: SelectOptions): Promise<QueryRun<Stream[]>> {
    const ctx = this.context();
    const streams = await selectStreams(expr, ctx, range, options);
    await this.binding.policy.streams(streams.map((stream) => ({ stream: stream.labels, values: stream.entries })));
    return { value: streams, run: ctx };
  }

  /**
   * Log lines as the engine masked them, without the policy's answer masking:
   * for a live read, whose every frame the policy's live masking covers.
   */
  async history(expr: LogQuery, range: TimeRange, options: SelectOptions): Promise<Stream[]> {
    return selectStreams(expr, this.context(), range, options);
  }

  /** A metric query's value at the steps; the series that have a sample come back masked for the reader. */
  async evaluate(expr: MetricExpr, steps: Steps): Promise<QueryRun<MetricValue>> {
    const ctx = this.context();
    const value = await evaluateMetric(expr, ctx, steps);
    if (value.kind === 'vector') {
      // Only series with a sample are answered: only their labels are revealed.
      const answered = value.series.filter((series) => series.values.some((v) => !Number.isNaN(v)));
      await this.binding.policy.labelSets(answered.map((series) => series.labels));
    }
    return { value, run: ctx };
  }

  /** Label names of the streams the selectors match (all streams without one), sorted. */
  async labelNames(range: TimeRange, selectors: LabelMatcher[][]): Promise<string[]> {
    const rows = await this.run<{ name: string }>(compileLabelNames(this.scope(range), selectors));
    return [...new Set(rows.map((row) => labelNameOf(row.name)))].sort();
  }

  /** A label's values, masked for the reader. */
  async labelValues(range: TimeRange, name: string, selectors: LabelMatcher[][], limit: number): Promise<string[]> {
    // As Loki's MultiTenantQuerier: the values of the tenant label are the tenants asked for.
    const values =
      name === tenantLabel && this.binding.tenants
        ? [...this.binding.tenants]
        : (await this.run<{ value: string }>(compileLabelValues(this.scope(range), name, selectors, limit))).map((row) => row.value);
    return this.binding.policy.labelValues(name, values);
  }

  /** The distinct label sets of the streams the selectors match, masked for the reader. */
  async series(range: TimeRange, selectors: LabelMatcher[][]): Promise<Record<string, string>[]> {
    const series = new Map<string, Record<string, string>>();
    for (const row of await this.streams(range, selectors)) {
      const labels = sortedObject(streamLabels(row));
      series.set(labelsKey(labels), labels);
    }
    const sets = [...series.values()];
    await this.binding.policy.labelSets(sets);
    // Told apart and ordered as shown: series differing only in a masked value would count its values, their order sort them.
    const shown = new Map(sets.map((labels) => [labelsKey(labels), labels]));
    return [...shown].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, labels]) => labels);
  }

  /** Streams, chunks, entries and bytes the selector matches. */
  async stats(range: TimeRange, selector: LabelMatcher[]): Promise<IndexStats> {
    const rows = await this.streams(range, [selector]);
    // Streams as the reader sees them: a masked reader's count must not tell how many values a masked label has.
    const seen = rows.map((row) => labelsKey(this.binding.policy.asSeen(streamLabels(row))));
    return {
      streams: new Set(seen).size,
      // No chunks in ClickHouse: a chunk is counted per stream and hour, the period Loki cuts chunks at.
      chunks: seen.some((key, i) => seen.indexOf(key) !== i) ? seenChunks(rows, seen) : rows.reduce((n, row) => n + Number(row.hours), 0),
      entries: rows.reduce((n, row) => n + Number(row.entries), 0),
      bytes: rows.reduce((n, row) => n + Number(row.bytes), 0),
    };
  }

  /** Bytes per series of the breakdown, the largest `limit` first. */
  async volume(range: TimeRange, selector: LabelMatcher[], by: VolumeBreakdown, limit: number): Promise<Volume[]> {
    const volumes = new Map<string, Volume>();
    for (const [row, metrics] of await this.volumeMetrics(await this.streams(range, [selector]), by)) {
      for (const metric of metrics) {
        const key = labelsKey(metric);
        const volume = volumes.get(key) ?? { metric, bytes: 0 };
        volume.bytes += Number(row.bytes);
        volumes.set(key, volume);
      }
    }
    return [...volumes]
      .sort(largestFirst((volume) => volume.bytes))
      .slice(0, limit)
      .map(([, volume]) => volume);
  }

  /** Bytes per step and series of the breakdown, for the `limit` series largest in total. */
  async volumeRange(
    range: TimeRange,
    selector: LabelMatcher[],
    stepNs: bigint,
    by: VolumeBreakdown,
    limit: number,
  ): Promise<VolumeSeries[]> {
    const { limits } = this.sources;
    const rows = await this.run<StreamVolumeRow>(
      compileStreamVolumes(this.scope(range), [selector], stepNs, limits.maxSeries * limits.maxPoints),
    );
    const volumes = new Map<string, VolumeSeries>();
    for (const [row, metrics] of await this.volumeMetrics(rows, by)) {
      for (const metric of metrics) {
        const key = labelsKey(metric);
        const volume = volumes.get(key) ?? { metric, total: 0, points: new Map<number, number>() };
        const bucket = Number(row.bucket);
        volume.points.set(bucket, (volume.points.get(bucket) ?? 0) + Number(row.bytes));
        volume.total += Number(row.bytes);
        volumes.set(key, volume);
      }
    }
    return [...volumes]
      .sort(largestFirst((volume) => volume.total))
      .slice(0, limit)
      .map(([, volume]) => volume);
  }

  /**
   * Each row with the series its bytes count towards, masked for the reader
   * before they are told apart: a sensitive label's values add up under one masked series.
   */
  private async volumeMetrics<Row extends StreamRow | StreamVolumeRow>(
    rows: Row[],
    by: VolumeBreakdown,
  ): Promise<[Row, Record<string, string>[]][]> {
    const metrics = rows.map((row): [Row, Record<string, string>[]] => [row, volumeMetrics(row, by)]);
    // Per-label series carry no values: nothing to mask.
    if (!by.perLabel) await this.binding.policy.labelSets(metrics.flatMap(([, sets]) => sets));
    return metrics;
  }

  /** Fields found in the newest `lineLimit` lines of a log query (stream labels excepted). */
  async detectedFields(expr: LogQuery, range: TimeRange, lineLimit: number, limit: number): Promise<DetectedField[]> {
    const { streams, labels } = await this.detectionSample(expr, range, lineLimit);
    return detectFields(streams, labels, limit);
  }

  /** One detected field's values in the newest `lineLimit` lines of a log query. */
  async detectedFieldValues(expr: LogQuery, range: TimeRange, lineLimit: number, name: string, limit: number): Promise<string[]> {
    const { streams, labels } = await this.detectionSample(expr, range, lineLimit);
    return detectedFieldValues(streams, labels, name, limit);
  }

  /** Each stream label of the streams the selectors match, with how many values it has, by name. */
  async detectedLabels(range: TimeRange, selectors: LabelMatcher[][]): Promise<DetectedLabel[]> {
    const values = new Map<string, Set<string>>();
    for (const row of await this.streams(range, selectors)) {
      // A masked label has one value to a masked reader: its cardinality must not count the stored ones.
      for (const [name, value] of this.binding.policy.asSeen(streamLabels(row))) {
        const seen = values.get(name) ?? new Set<string>();
        seen.add(value);
        values.set(name, seen);
      }
    }
    return [...values].sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, seen]) => ({ label, cardinality: seen.size }));
  }

  /** The lines fields are detected in, as the engine masked them, and the stream label names they are told apart from. */
  private async detectionSample(expr: LogQuery, range: TimeRange, lineLimit: number): Promise<{ streams: Stream[]; labels: Set<string> }> {
    const streams = await this.history(expr, range, { limit: lineLimit, direction: 'backward' });
    const names = await this.run<{ name: string }>(compileLabelNames(this.scope(range), [expr.selector]));
    return { streams, labels: new Set(names.map((row) => labelNameOf(row.name))) };
  }

  private streams(range: TimeRange, selectors: LabelMatcher[][]): Promise<StreamRow[]> {
    return this.run<StreamRow>(compileStreams(this.scope(range), selectors, this.sources.limits.maxSeries));
  }

  private scope(range: TimeRange): QueryScope {
    // Selectors of SQL-only reads (labels, series, stats, volumes) match what the reader may see.
    return {
      database: this.sources.database,
      tenant: this.binding.tenant,
      tenants: this.binding.tenants,
      masked: this.binding.policy.queryMasking?.labels,
      ...range,
    };
  }

  /** SQL-only reads, under the same deadline and cancellation. */
  private run<T>(compiled: Parameters<SqlRunner['run']>[0]): Promise<T[]> {
    return this.sources.runner.run<T>(compiled, this.binding.budget);
  }
}
