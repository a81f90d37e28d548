import { MeshlogError } from '../../errors.js';
import type {
  BinaryExpr,
  Expr,
  Grouping,
  LabelReplace,
  LogQuery,
  MetricExpr,
  RangeAggregation,
  VectorAggregation,
  VectorMatching,
} from './ast.js';
import {
  compileBuckets,
  compileLogRows,
  compileLogfmtSampleRows,
  compileSampleRows,
  type BucketRow,
  type LogfmtSampleRow,
  type LogRow,
  type MaskedLabels,
  type QueryScope,
} from './compiler.js';
import { compareLabels, entryLabels, entryOf, labelsKey, sortedObject } from './labelSet.js';
import { expandGoReplacement, goRegex } from './goRegex.js';
import { compileLabelFilter, compilePipeline, convertValue, type Entry } from './pipeline.js';
import { logfmtSampleLabels } from './logfmtSampleSql.js';
import type { QueryBudget } from './queryBudget.js';
import type { CompiledSql, SqlRunner } from '../../storage/sql.js';

/** Runs compiled SQL; storage/ provides it, the engine never touches a connection. */
export interface QueryLimits {
  /** Series a metric query may produce. */
  maxSeries: number;
  /** Rows the engine may read for stages SQL cannot run. */
  maxEngineRows: number;
  /** Points per series of a range query (Loki and Prometheus: 11,000). */
  maxPoints: number;
  /** query.pushdown: ClickHouse also does the work it can prove gives the engine's results; off, the engine does it (docs/querying.md). */
  pushdown: boolean;
}

export const defaultQueryLimits: QueryLimits = { maxSeries: 10_000, maxEngineRows: 2_000_000, maxPoints: 11_000, pushdown: true };

export interface QueryContext {
  database: string;
  tenant: string;
  /** A multi-tenant query's tenants (QueryScope.tenants): read instead of `tenant`, lines labelled `__tenant_id__`. */
  tenants?: readonly string[];
  runner: SqlRunner;
  limits: QueryLimits;
  /** Filled while the query runs: how each part was executed. */
  plan: string[];
  /** Rows read back from ClickHouse. */
  rowsRead: number;
  /** Bytes of log lines read back from ClickHouse (lines ClickHouse aggregated itself are not counted). */
  bytesRead: number;
  /** For a reader who may not unmask: entries are masked before any stage sees them. */
  masking?: QueryMasking;
  /** The query's deadline and cancellation; its JavaScript work yields to the event loop in slices. */
  budget?: QueryBudget;
}

export interface QueryMasking {
  labels: MaskedLabels;
  /** Masks an entry's labels and line in place. */
  maskEntry(entry: Entry): void;
}

/** Between two rows or series: lets the event loop turn when the slice has run its time, and stops a cancelled query. */
/** Rows a query brought into the engine: counted, and refused past the engine's row limit. */
function countEngineRows<R>(ctx: QueryContext, rows: R[]): R[] {
  ctx.rowsRead += rows.length;
  if (rows.length > ctx.limits.maxEngineRows) {
    throw new MeshlogError(
      'ML_QUERY_LIMIT',
      `the query needs more than ${ctx.limits.maxEngineRows} rows in the query engine: narrow the selector, time range or line filters`,
    );
  }
  return rows;
}

async function yieldIfDue(ctx: QueryContext): Promise<void> {
  if (ctx.budget?.due()) await ctx.budget.yield();
}

/** Loki's per-entry labels under categorize-labels: structured metadata and parsed labels, each present only when non-empty. */
export interface EntryCategories {
  structuredMetadata?: Record<string, string>;
  parsed?: Record<string, string>;
}

export interface Stream {
  labels: Record<string, string>;
  /** [ns timestamp, line], and under categorize-labels the entry's non-stream labels. */
  entries: [string, string, EntryCategories?][];
}

/**
 * An entry's labels split as Loki's categorize-labels encoding splits them (its
 * LabelsBuilder.LabelsResult): labels a stage set are parsed, the row's structured
 * metadata stays structured metadata, the rest are stream labels.
 */
export function categorized(entry: Pick<Entry, 'labels' | 'parsed' | 'metadata'>): {
  stream: Map<string, string>;
  categories: EntryCategories;
} {
  const streamLabels = new Map<string, string>();
  const metadata = new Map<string, string>();
  const parsed = new Map<string, string>();
  for (const [name, value] of entry.labels) {
    if (entry.parsed?.has(name)) parsed.set(name, value);
    // Loki 3 keeps detected_level in structured metadata, not in the stream's labels.
    else if (!entry.metadata?.has(name) && name !== 'detected_level') streamLabels.set(name, value);
    else metadata.set(name, value);
  }
  const categories: EntryCategories = {};
  if (metadata.size > 0) categories.structuredMetadata = sortedObject(metadata);
  if (parsed.size > 0) categories.parsed = sortedObject(parsed);
  return { stream: streamLabels, categories };
}

/**
 * Whether a log query reads its time range in slices, the newest first (oldest for
 * forward): lines of several services ClickHouse must all read and sort before the
 * limit, and even for one service, read in time order, it first looks up the text
 * index over the whole range. A trace id's few lines, spread over the whole range,
 * its bloom filter index finds in one pass.
 */
function readsInSlices(log: LogQuery, range: { startNs: bigint; endNs: bigint }): boolean {
  const oneTrace = log.stages.some(
    (stage) =>
      stage.kind === 'label_filter' &&
      stage.filter.kind === 'match' &&
      stage.filter.matcher.name === 'trace_id' &&
      stage.filter.matcher.op === '=',
  );
  return !oneTrace && range.endNs - range.startNs >= 3_600_000_000_000n;
}

/** [start, end) cut into slices from the end (backward) or the start (forward): 1/32 of the range, then each twice the last. */
function timeSlices(range: { startNs: bigint; endNs: bigint }, direction: 'forward' | 'backward'): { startNs: bigint; endNs: bigint }[] {
  const span = range.endNs - range.startNs;
  const slices: { startNs: bigint; endNs: bigint }[] = [];
  let covered = 0n;
  for (let size = span / 32n; covered < span; size *= 2n) {
    const next = size * 4n > span - covered ? span : covered + size;
    slices.push(
      direction === 'backward'
        ? { startNs: range.endNs - next, endNs: range.endNs - covered }
        : { startNs: range.startNs + covered, endNs: range.startNs + next },
    );
    covered = next;
  }
  return slices;
}

/** Log lines matching a log query, grouped into streams by their final label set. */
export async function selectStreams(
  log: LogQuery,
  ctx: QueryContext,
  range: { startNs: bigint; endNs: bigint },
  options: { limit: number; direction: 'forward' | 'backward'; categorize?: boolean; intervalNs?: bigint },
): Promise<Stream[]> {
  // When SQL runs the whole pipeline its LIMIT is exact; otherwise read pages until enough lines pass.
  const exact =
    options.intervalNs === undefined &&
    compileLogRows(
      log,
      {
        database: ctx.database,
        tenant: ctx.tenant,
        tenants: ctx.tenants,
        masked: ctx.masking?.labels,
        pushdown: ctx.limits.pushdown,
        ...range,
      },
      { direction: options.direction, limit: options.limit, offset: 0 },
    ).residual.length === 0;
  const streams = new Map<string, Stream>();
  let kept = 0;
  // Loki's `interval`: a line is returned only at least that long after (before, backward) the last one returned, in any stream.
  let lastNs: bigint | undefined;
  const tooSoon = (ns: bigint) =>
    options.intervalNs !== undefined &&
    lastNs !== undefined &&
    (options.direction === 'forward' ? ns < lastNs + options.intervalNs : ns > lastNs - options.intervalNs);
  const slices = readsInSlices(log, range) ? timeSlices(range, options.direction) : [range];
  if (slices.length > 1)
    ctx.plan.push(
      `time range read in ${slices.length} slices, the ${options.direction === 'backward' ? 'newest' : 'oldest'} first, until the limit`,
    );
  // Slices partition the range in the requested order, so lines come out in the same order as from one query.
  for (const [index, slice] of slices.entries()) {
    if (kept >= options.limit) break;
    const scope: QueryScope = {
      database: ctx.database,
      tenant: ctx.tenant,
      tenants: ctx.tenants,
      masked: ctx.masking?.labels,
      pushdown: ctx.limits.pushdown,
      ...slice,
    };
    let pageSize = exact ? options.limit - kept : Math.max(options.limit - kept, 1000);
    // Pages grow fourfold: few round trips when the engine drops most rows.
    for (let offset = 0; kept < options.limit; offset += pageSize, pageSize *= 4) {
      const compiled = compileLogRows(log, scope, { direction: options.direction, limit: pageSize, offset });
      if (offset === 0 && index === 0) ctx.plan.push(...compiled.plan);
      const pipeline = compilePipeline(compiled.residual);
      const rows = await ctx.runner.run<LogRow>(compiled, ctx.budget);
      ctx.rowsRead += rows.length;
      for (const row of rows) {
        await yieldIfDue(ctx);
        ctx.bytesRead += Buffer.byteLength(row.body);
        const entry = entryOf(row);
        ctx.masking?.maskEntry(entry);
        if (!pipeline(entry) || tooSoon(BigInt(entry.timestampNs))) continue;
        lastNs = BigInt(entry.timestampNs);
        // Under categorize-labels a stream is its stream labels only; each entry carries the rest.
        const split = options.categorize ? categorized(entry) : undefined;
        const labels = split ? split.stream : entry.labels;
        const key = labelsKey(labels);
        let stream = streams.get(key);
        if (!stream) streams.set(key, (stream = { labels: sortedObject(labels), entries: [] }));
        stream.entries.push(split ? [entry.timestampNs, entry.line, split.categories] : [entry.timestampNs, entry.line]);
        if (++kept >= options.limit) break;
      }
      if (rows.length < pageSize) break;
      if (ctx.rowsRead > ctx.limits.maxEngineRows) {
        throw new MeshlogError(
          'ML_QUERY_LIMIT',
          `the query read more than ${ctx.limits.maxEngineRows} rows: narrow the selector, time range or line filters`,
        );
      }
    }
  }
  return [...streams.values()];
}

/** Evaluation instants of a query: start, start+step, … ≤ end (an instant query has one). */
export interface Steps {
  startNs: bigint;
  stepNs: bigint;
  count: number;
}

export interface Series {
  labels: Record<string, string>;
  /** One value per step; NaN where the series has no sample. */
  values: Float64Array;
}

export type MetricValue = { kind: 'scalar'; values: Float64Array } | { kind: 'vector'; series: Series[] };

export function stepsOf(startNs: bigint, endNs: bigint, stepNs: bigint, limits: QueryLimits): Steps {
  if (stepNs <= 0n)
    throw new MeshlogError('ML_QUERY_INVALID', 'zero or negative query resolution step widths are not accepted: use a positive step');
  if (endNs < startNs) throw new MeshlogError('ML_QUERY_INVALID', 'the end timestamp must not be before the start time');
  const count = Number((endNs - startNs) / stepNs) + 1;
  if (count > limits.maxPoints) {
    throw new MeshlogError(
      'ML_QUERY_LIMIT',
      `exceeded maximum resolution of ${limits.maxPoints} points per time series: use a larger step`,
    );
  }
  return { startNs, stepNs, count };
}

export async function evaluateMetric(expr: MetricExpr, ctx: QueryContext, steps: Steps): Promise<MetricValue> {
  switch (expr.kind) {
    case 'number':
      return { kind: 'scalar', values: new Float64Array(steps.count).fill(expr.value) };
    case 'vector':
      return { kind: 'vector', series: [{ labels: {}, values: new Float64Array(steps.count).fill(expr.value) }] };
    case 'range':
      return { kind: 'vector', series: await evaluateRange(expr, ctx, steps) };
    case 'vector_agg':
      return { kind: 'vector', series: await evaluateVectorAggregation(expr, ctx, steps) };
    case 'binary':
      return evaluateBinary(expr, ctx, steps);
    case 'label_replace':
      return { kind: 'vector', series: await evaluateLabelReplace(expr, ctx, steps) };
  }
}

/** Whether the result keeps sort()/sort_desc() order instead of label order (Loki's Sortable). */
export function isSortedByValue(expr: MetricExpr): boolean {
  switch (expr.kind) {
    case 'vector_agg':
      return expr.op === 'sort' || expr.op === 'sort_desc' || isSortedByValue(expr.expr);
    case 'binary':
      return isSortedByValue(expr.left) || isSortedByValue(expr.right);
    case 'label_replace':
      return isSortedByValue(expr.expr);
    default:
      return false;
  }
}

export function isMetric(expr: Expr): expr is MetricExpr {
  return expr.kind !== 'log';
}

interface Sample {
  /** ns after the evaluation origin. */
  t: number;
  entries: number;
  bytes: number;
  value: number;
}

const bucketFunctions = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'absent_over_time']);

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function groupedLabels(labels: Map<string, string>, grouping: Grouping | undefined): Map<string, string> {
  if (!grouping) return labels;
  if (grouping.without) {
    const out = new Map(labels);
    for (const name of grouping.labels) out.delete(name);
    return out;
  }
  const out = new Map<string, string>();
  for (const name of grouping.labels) {
    const value = labels.get(name);
    if (value !== undefined && value !== '') out.set(name, value);
  }
  return out;
}

class SeriesSamples {
  private readonly byKey = new Map<string, { labels: Map<string, string>; samples: Sample[] }>();

  constructor(private readonly limits: QueryLimits) {}

  add(labels: Map<string, string>, sample: Sample): void {
    const key = labelsKey(labels);
    let series = this.byKey.get(key);
    if (!series) {
      if (this.byKey.size >= this.limits.maxSeries) {
        throw new MeshlogError(
          'ML_QUERY_LIMIT',
          `maximum of series (${this.limits.maxSeries}) reached for a single query: aggregate with sum by (…) or narrow the selector`,
        );
      }
      this.byKey.set(key, (series = { labels, samples: [] }));
    }
    series.samples.push(sample);
  }

  all(): { labels: Map<string, string>; samples: Sample[] }[] {
    return [...this.byKey.values()];
  }
}

/**
 * A range aggregation at every step. The window of step k is
 * (t_k − offset − range, t_k − offset]; sample times are kept relative to the
 * first window's start so that nanoseconds stay exact in a double.
 */
async function evaluateRange(node: RangeAggregation, ctx: QueryContext, steps: Steps, pushedGroupBy?: string[]): Promise<Series[]> {
  const rangeNs = BigInt(node.rangeMs) * 1_000_000n;
  const offsetNs = BigInt(node.offsetMs) * 1_000_000n;
  const originNs = steps.startNs - offsetNs - rangeNs;
  const endNs = steps.startNs + steps.stepNs * BigInt(steps.count - 1) - offsetNs;
  const scope: QueryScope = {
    database: ctx.database,
    tenant: ctx.tenant,
    tenants: ctx.tenants,
    masked: ctx.masking?.labels,
    pushdown: ctx.limits.pushdown,
    startNs: originNs,
    endNs,
  };
  let samples = new SeriesSamples(ctx.limits);

  let viaBuckets = false;
  if (bucketFunctions.has(node.fn) && !node.unwrap) {
    const widthNs = steps.count === 1 ? rangeNs : gcd(steps.stepNs, rangeNs);
    const bytes = node.fn === 'bytes_over_time' || node.fn === 'bytes_rate';
    const compiled = compileBuckets(node.log, scope, { originNs, widthNs, groupBy: pushedGroupBy, bytes });
    if (compiled.residual.length === 0) {
      viaBuckets = true;
      ctx.plan.push(...compiled.plan);
      const rows = await ctx.runner.run<BucketRow>(compiled, ctx.budget);
      ctx.rowsRead += rows.length;
      const width = Number(widthNs);
      for (const row of rows) {
        await yieldIfDue(ctx);
        let labels: Map<string, string>;
        if (pushedGroupBy) {
          labels = new Map();
          pushedGroupBy.forEach((name, index) => row.g[index] !== '' && labels.set(name, row.g[index]));
        } else {
          const [service_name, level, trace_id, span_id, tenant_id] = row.g;
          labels = entryLabels({
            ts: '',
            body: '',
            service_name,
            level,
            trace_id,
            span_id,
            resource_attributes: row.resource_attributes!,
            log_attributes: row.log_attributes!,
            mesh_labels: row.mesh_labels!,
            tenant_id,
          });
        }
        samples.add(labels, { t: Number(row.bucket) * width, entries: Number(row.entries), bytes: Number(row.bytes), value: 0 });
      }
    }
  }
  const extracted = viaBuckets ? undefined : await logfmtSamples(node, ctx, scope, originNs);
  if (extracted) samples = extracted;
  else if (!viaBuckets) {
    const compiled = compileSampleRows(node.log, scope, { originNs, maxRows: ctx.limits.maxEngineRows, unwrapLabel: node.unwrap?.label });
    ctx.plan.push(...compiled.plan);
    const pipeline = compilePipeline(compiled.residual);
    const postFilters = (node.unwrap?.postFilters ?? []).map(compileLabelFilter);
    const rows = countEngineRows(ctx, await ctx.runner.run<LogRow>(compiled, ctx.budget));
    for (const row of rows) {
      await yieldIfDue(ctx);
      ctx.bytesRead += Buffer.byteLength(row.body);
      const entry = entryOf(row);
      ctx.masking?.maskEntry(entry);
      if (!pipeline(entry)) continue;
      let value = 0;
      if (node.unwrap) {
        const raw = entry.labels.get(node.unwrap.label);
        // Like Loki (since its issue 6713), a line without the label gives no sample rather than an error.
        if (raw === undefined || raw === '') continue;
        const converted = convertValue(raw, node.unwrap.conversion);
        if (converted === undefined) entry.labels.set('__error__', 'SampleExtractionErr');
        else value = converted;
        entry.labels.delete(node.unwrap.label);
        if (!postFilters.every((filter) => filter(entry))) continue;
      }
      // Like Loki, a sample with an error fails the query instead of being counted or skipped silently.
      if (entry.labels.has('__error__')) throw pipelineError(entry.labels);
      const labels = pushedGroupBy
        ? groupedLabels(entry.labels, { without: false, labels: pushedGroupBy })
        : groupedLabels(entry.labels, node.grouping);
      samples.add(labels, { t: Number(BigInt(row.ts) - originNs), entries: 1, bytes: Buffer.byteLength(entry.line), value });
    }
  }

  const all = samples.all();
  if (node.fn === 'absent_over_time') return absentSeries(node, all, steps, rangeNs);
  const rangeSeconds = node.rangeMs / 1000;
  const series: Series[] = [];
  for (const { labels, samples: list } of all) {
    await yieldIfDue(ctx);
    list.sort((a, b) => a.t - b.t);
    const values = new Float64Array(steps.count).fill(NaN);
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < steps.count; k++) {
      const from = Number(steps.stepNs * BigInt(k));
      const to = from + Number(rangeNs);
      while (lo < list.length && list[lo].t <= from) lo++;
      if (hi < lo) hi = lo;
      while (hi < list.length && list[hi].t <= to) hi++;
      if (hi > lo) values[k] = rangeValue(node, list, lo, hi, rangeSeconds, to);
    }
    series.push({ labels: sortedObject(labels), values });
  }
  return series;
}

/**
 * Samples of a `| logfmt | unwrap … by (…)` aggregation whose labels ClickHouse extracts on
 * plain lines (logfmtSampleSql.ts); other rows run through the pipeline as in evaluateRange.
 * Undefined when SQL cannot, or when a sample's error would fail the query: the engine path
 * then answers (and names the failing series) exactly as it always does.
 */
async function logfmtSamples(
  node: RangeAggregation,
  ctx: QueryContext,
  scope: QueryScope,
  originNs: bigint,
): Promise<SeriesSamples | undefined> {
  if (!ctx.limits.pushdown || ctx.masking || !node.unwrap) return undefined;
  const unwrap = node.unwrap;
  const options = { originNs, maxRows: ctx.limits.maxEngineRows, unwrapLabel: unwrap.label };
  const labelNames = logfmtSampleLabels(node, compileSampleRows(node.log, scope, options).residual);
  if (!labelNames) return undefined;
  const compiled = compileLogfmtSampleRows(node.log, scope, { ...options, labels: labelNames });
  const pipeline = compilePipeline(compiled.residual);
  const postFilters = unwrap.postFilters.map(compileLabelFilter);
  const rows = countEngineRows(ctx, await ctx.runner.run<LogfmtSampleRow>(compiled, ctx.budget));
  const samples = new SeriesSamples(ctx.limits);
  for (const row of rows) {
    await yieldIfDue(ctx);
    ctx.bytesRead += Number(row.size);
    let entry: Entry;
    if (row.plain) {
      const labels = new Map<string, string>();
      labelNames.forEach((name, index) => row.extracted[index] !== '' && labels.set(name, row.extracted[index]));
      entry = { timestampNs: row.ts, line: '', labels };
    } else {
      const { line, resource, attributes, mesh_map, ...columns } = row;
      entry = entryOf({ ...columns, body: line, resource_attributes: resource, log_attributes: attributes, mesh_labels: mesh_map });
      if (!pipeline(entry)) continue;
    }
    const raw = entry.labels.get(unwrap.label);
    if (raw === undefined || raw === '') continue;
    const converted = convertValue(raw, unwrap.conversion);
    if (converted === undefined) entry.labels.set('__error__', 'SampleExtractionErr');
    entry.labels.delete(unwrap.label);
    if (!postFilters.every((filter) => filter(entry))) continue;
    if (entry.labels.has('__error__')) return undefined;
    samples.add(groupedLabels(entry.labels, node.grouping), {
      t: Number(BigInt(row.ts) - originNs),
      entries: 1,
      bytes: Number(row.size),
      value: converted ?? 0,
    });
  }
  ctx.plan.push(...compiled.plan);
  return samples;
}

/** Loki's PipelineError text ("pipeline error: …"): which error, on which series, and how to skip it on purpose. */
function pipelineError(labels: Map<string, string>): MeshlogError {
  const error = labels.get('__error__')!;
  return new MeshlogError(
    'ML_QUERY_PIPELINE',
    `'${error}' for series: '${labelsKey(labels)}'.\n` +
      `Use a label filter to intentionally skip this error. (e.g | __error__!="${error}").\n` +
      'To skip all potential errors you can match empty errors.(e.g __error__="")\n' +
      'The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )',
  );
}

function absentSeries(node: RangeAggregation, all: { samples: Sample[] }[], steps: Steps, rangeNs: bigint): Series[] {
  const times = all.flatMap((series) => series.samples.map((sample) => sample.t)).sort((a, b) => a - b);
  const values = new Float64Array(steps.count).fill(NaN);
  let lo = 0;
  let any = false;
  for (let k = 0; k < steps.count; k++) {
    const from = Number(steps.stepNs * BigInt(k));
    while (lo < times.length && times[lo] <= from) lo++;
    if (!(lo < times.length && times[lo] <= from + Number(rangeNs))) {
      values[k] = 1;
      any = true;
    }
  }
  if (!any) return [];
  const labels: Record<string, string> = {};
  for (const matcher of node.log.selector) if (matcher.op === '=') labels[matcher.name] = matcher.value;
  return [{ labels, values }];
}

/** Prometheus' quantile as Loki computes it: linear interpolation between the closest ranks. */
function quantile(phi: number, sorted: number[]): number {
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const rank = phi * (sorted.length - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(sorted.length - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

/** Incremental mean, as Loki's avg_over_time and avg compute it (same rounding as Loki, not sum/count). */
function mean(values: number[]): number {
  let result = 0;
  values.forEach((value, index) => {
    result += value / (index + 1) - result / (index + 1);
  });
  return result;
}

/** Population variance by Welford's method, as Loki's stdvar_over_time and stdvar compute it. */
function variance(values: number[]): number {
  let average = 0;
  let aux = 0;
  values.forEach((value, index) => {
    const delta = value - average;
    average += delta / (index + 1);
    aux += delta * (value - average);
  });
  return aux / values.length;
}

/**
 * rate_counter: Loki's extrapolatedRate(samples, range, rangeEnd, isCounter, isRate)
 * (pkg/logql/range_vector.go): sample times in seconds from ns, the window's own
 * bounds as the range, a drop in value a counter reset (the value before it added
 * back), fewer than two samples 0. The start is extrapolated by half an average
 * interval when the first sample is far from it, never below a zero counter.
 */
function counterRate(list: Sample[], lo: number, hi: number, rangeMs: number, windowEnd: number): number {
  if (hi - lo < 2) return 0;
  const first = list[lo];
  const last = list[hi - 1];
  let increase = last.value - first.value;
  let previous = 0;
  for (let i = lo; i < hi; i++) {
    if (list[i].value < previous) increase += previous;
    previous = list[i].value;
  }
  const windowStart = windowEnd - rangeMs * 1e6;
  let durationToStart = (first.t - windowStart) / 1e9;
  let durationToEnd = (windowEnd - last.t) / 1e9;
  const sampledInterval = (last.t - first.t) / 1e9;
  const averageInterval = sampledInterval / (hi - lo - 1);
  const threshold = averageInterval * 1.1;
  if (durationToStart >= threshold) durationToStart = averageInterval / 2;
  // A counter starts at zero: never extrapolate below it.
  const durationToZero = increase > 0 && first.value >= 0 ? sampledInterval * (first.value / increase) : durationToStart;
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= threshold) durationToEnd = averageInterval / 2;
  return (increase * ((sampledInterval + durationToStart + durationToEnd) / sampledInterval)) / (rangeMs / 1000);
}

/** `windowEnd`: the window's end, in ns after the evaluation origin like sample times. */
function rangeValue(node: RangeAggregation, list: Sample[], lo: number, hi: number, rangeSeconds: number, windowEnd: number): number {
  let entries = 0;
  let bytes = 0;
  for (let i = lo; i < hi; i++) {
    entries += list[i].entries;
    bytes += list[i].bytes;
  }
  const values = () => list.slice(lo, hi).map((sample) => sample.value);
  switch (node.fn) {
    case 'count_over_time':
      return entries;
    case 'rate':
      return node.unwrap ? values().reduce((a, b) => a + b, 0) / rangeSeconds : entries / rangeSeconds;
    case 'bytes_over_time':
      return bytes;
    case 'bytes_rate':
      return bytes / rangeSeconds;
    case 'sum_over_time':
      return values().reduce((a, b) => a + b, 0);
    case 'avg_over_time':
      return mean(values());
    case 'min_over_time':
      return Math.min(...values());
    case 'max_over_time':
      return Math.max(...values());
    case 'stddev_over_time':
      return Math.sqrt(variance(values()));
    case 'stdvar_over_time':
      return variance(values());
    case 'quantile_over_time':
      return quantile(
        node.param!,
        values().sort((a, b) => a - b),
      );
    case 'first_over_time':
      return list[lo].value;
    case 'last_over_time':
      return list[hi - 1].value;
    case 'rate_counter':
      return counterRate(list, lo, hi, node.rangeMs, windowEnd);
    default:
      throw new MeshlogError('ML_QUERY_INVALID', `${node.fn} is not supported`);
  }
}

async function evaluateVectorAggregation(node: VectorAggregation, ctx: QueryContext, steps: Steps): Promise<Series[]> {
  // sum by (…) over a count/bytes range aggregation: group in SQL instead of per series.
  const pushDown =
    node.op === 'sum' &&
    !node.grouping?.without &&
    node.expr.kind === 'range' &&
    bucketFunctions.has(node.expr.fn) &&
    !node.expr.unwrap &&
    node.expr.fn !== 'absent_over_time';
  const input = pushDown
    ? await evaluateRange(node.expr as RangeAggregation, ctx, steps, node.grouping?.labels ?? [])
    : await evaluateMetric(node.expr, ctx, steps).then((value) => {
        if (value.kind === 'scalar') throw new MeshlogError('ML_QUERY_INVALID', `${node.op} needs a vector, not a scalar`);
        return value.series;
      });
  if (node.op === 'sort' || node.op === 'sort_desc') return sortByValue(input, node.op === 'sort_desc');
  const groups = new Map<string, { labels: Record<string, string>; members: Series[] }>();
  for (const series of input) {
    await yieldIfDue(ctx);
    const labels = sortedObject(groupedLabels(new Map(Object.entries(series.labels)), node.grouping ?? { without: false, labels: [] }));
    const key = labelsKey(labels);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { labels, members: [] }));
    group.members.push(series);
  }
  const out: Series[] = [];
  for (const group of groups.values()) {
    await yieldIfDue(ctx);
    if (node.op === 'topk' || node.op === 'bottomk') {
      const selected = group.members.map((series) => ({ labels: series.labels, values: new Float64Array(steps.count).fill(NaN) }));
      for (let k = 0; k < steps.count; k++) {
        const ranked = group.members
          .map((series, index) => ({ index, value: series.values[k] }))
          .filter((item) => !Number.isNaN(item.value))
          .sort((a, b) => (node.op === 'topk' ? b.value - a.value : a.value - b.value))
          .slice(0, node.param);
        for (const item of ranked) selected[item.index].values[k] = item.value;
      }
      out.push(...selected.filter((series) => series.values.some((value) => !Number.isNaN(value))));
      continue;
    }
    const values = new Float64Array(steps.count).fill(NaN);
    for (let k = 0; k < steps.count; k++) {
      const present = group.members.map((series) => series.values[k]).filter((value) => !Number.isNaN(value));
      if (present.length === 0) continue;
      values[k] = aggregate(node.op, present);
    }
    out.push({ labels: group.labels, values });
  }
  return out;
}

/** Series ordered by their first value (an instant query's only one); equal values by labels. */
function sortByValue(series: Series[], descending: boolean): Series[] {
  const first = (s: Series) => (Number.isNaN(s.values[0]) ? Infinity : s.values[0] * (descending ? -1 : 1));
  return [...series].sort((a, b) => first(a) - first(b) || compareLabels(a.labels, b.labels));
}

async function evaluateLabelReplace(node: LabelReplace, ctx: QueryContext, steps: Steps): Promise<Series[]> {
  const input = await evaluateMetric(node.expr, ctx, steps);
  if (input.kind === 'scalar') throw new MeshlogError('ML_QUERY_INVALID', 'label_replace needs a vector, not a scalar');
  const re = goRegex(node.regex, { anchored: true });
  const out = new Map<string, Series>();
  for (const series of input.series) {
    await yieldIfDue(ctx);
    const match = re.exec(series.labels[node.src] ?? '');
    let labels = series.labels;
    if (match) {
      const next = new Map(Object.entries(series.labels));
      const value = expandGoReplacement(node.replacement, match);
      if (value === '') next.delete(node.dst);
      else next.set(node.dst, value);
      labels = sortedObject(next);
    }
    const key = labelsKey(labels);
    const existing = out.get(key);
    if (!existing) {
      out.set(key, { labels, values: series.values });
      continue;
    }
    // Two series renamed into one are one series only while they never both have a sample.
    existing.values = existing.values.map((value, k) => {
      if (Number.isNaN(value)) return series.values[k];
      if (!Number.isNaN(series.values[k]))
        throw new MeshlogError('ML_QUERY_INVALID', 'vector cannot contain metrics with the same labelset');
      return value;
    });
  }
  return [...out.values()];
}

function aggregate(op: VectorAggregation['op'], values: number[]): number {
  switch (op) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return mean(values);
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'count':
      return values.length;
    case 'stddev':
      return Math.sqrt(variance(values));
    case 'stdvar':
      return variance(values);
    default:
      throw new MeshlogError('ML_QUERY_INVALID', `${op} is not an aggregation of values`);
  }
}

const arithmetic: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
  '^': (a, b) => a ** b,
  '==': (a, b) => Number(a === b),
  '!=': (a, b) => Number(a !== b),
  '>': (a, b) => Number(a > b),
  '>=': (a, b) => Number(a >= b),
  '<': (a, b) => Number(a < b),
  '<=': (a, b) => Number(a <= b),
};
const comparisonOps = new Set(['==', '!=', '>', '>=', '<', '<=']);

function matchKey(labels: Record<string, string>, matching: BinaryExpr['matching']): string {
  if (!matching) return labelsKey(labels);
  const kept = Object.entries(labels).filter(([name]) => matching.labels.includes(name) === matching.on);
  return labelsKey(Object.fromEntries(kept));
}

async function evaluateBinary(node: BinaryExpr, ctx: QueryContext, steps: Steps): Promise<MetricValue> {
  const [left, right] = await Promise.all([evaluateMetric(node.left, ctx, steps), evaluateMetric(node.right, ctx, steps)]);
  const isComparison = comparisonOps.has(node.op);
  if (node.op === 'and' || node.op === 'or' || node.op === 'unless') {
    if (left.kind !== 'vector' || right.kind !== 'vector')
      throw new MeshlogError('ML_QUERY_INVALID', `${node.op} works between two vectors`);
    return { kind: 'vector', series: await setOperation(node, left.series, right.series, steps, ctx) };
  }
  const fn = arithmetic[node.op];
  const apply = (a: number, b: number, keep: number): number => {
    if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
    const result = fn(a, b);
    if (!isComparison || node.returnBool) return result;
    return result === 1 ? keep : NaN;
  };
  if (left.kind === 'scalar' && right.kind === 'scalar') {
    return { kind: 'scalar', values: left.values.map((a, k) => (isComparison && !node.returnBool ? NaN : fn(a, right.values[k]))) };
  }
  if (left.kind === 'vector' && right.kind === 'scalar') {
    return {
      kind: 'vector',
      series: left.series.map((s) => ({ labels: s.labels, values: s.values.map((a, k) => apply(a, right.values[k], a)) })),
    };
  }
  if (left.kind === 'scalar' && right.kind === 'vector') {
    return {
      kind: 'vector',
      series: right.series.map((s) => ({ labels: s.labels, values: s.values.map((b, k) => apply(left.values[k], b, b)) })),
    };
  }
  return {
    kind: 'vector',
    series: await vectorMatch(node, (left as { series: Series[] }).series, (right as { series: Series[] }).series, steps, apply, ctx),
  };
}

/** Labels of a matched pair's result, as Loki's resultMetric: from the "many" side, reduced for one-to-one, plus group_x labels of the "one" side. */
function resultLabels(
  many: Record<string, string>,
  one: Record<string, string>,
  matching: VectorMatching | undefined,
): Record<string, string> {
  if (!matching) return many;
  const labels = new Map(Object.entries(many));
  if (matching.card === 'one-to-one') {
    for (const name of Object.keys(many)) if (matching.labels.includes(name) !== matching.on) labels.delete(name);
  }
  for (const name of matching.include) {
    if (one[name] !== undefined && one[name] !== '') labels.set(name, one[name]);
    else labels.delete(name);
  }
  return sortedObject(labels);
}

/**
 * Vector-to-vector arithmetic and comparison, step by step as Loki's vectorBinop:
 * the "one" side must be unique per matching key, a one-to-one match may happen
 * once per key, a group_left/group_right match once per result label set.
 */
async function vectorMatch(
  node: BinaryExpr,
  left: Series[],
  right: Series[],
  steps: Steps,
  apply: (a: number, b: number, keep: number) => number,
  ctx: QueryContext,
): Promise<Series[]> {
  const oneToMany = node.matching?.card === 'one-to-many';
  const [many, one] = oneToMany ? [right, left] : [left, right];
  const manyKeys = many.map((series) => matchKey(series.labels, node.matching));
  const oneKeys = one.map((series) => matchKey(series.labels, node.matching));
  const out = new Map<string, Series>();
  for (let k = 0; k < steps.count; k++) {
    await yieldIfDue(ctx);
    const oneByKey = new Map<string, Series>();
    one.forEach((series, index) => {
      if (Number.isNaN(series.values[k])) return;
      if (oneByKey.has(oneKeys[index])) {
        throw new MeshlogError(
          'ML_QUERY_INVALID',
          `found duplicate series on the ${oneToMany ? 'left' : 'right'} hand-side;many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      oneByKey.set(oneKeys[index], series);
    });
    const matched = new Map<string, Set<string>>();
    many.forEach((series, index) => {
      const value = series.values[k];
      const partner = oneByKey.get(manyKeys[index]);
      if (Number.isNaN(value) || !partner) return;
      const labels = resultLabels(series.labels, partner.labels, node.matching);
      const resultKey = labelsKey(labels);
      const seen = matched.get(manyKeys[index]);
      if (seen && (node.matching?.card ?? 'one-to-one') === 'one-to-one') {
        throw new MeshlogError(
          'ML_QUERY_INVALID',
          'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
        );
      }
      if (seen?.has(resultKey))
        throw new MeshlogError('ML_QUERY_INVALID', 'multiple matches for labels: grouping labels must ensure unique matches');
      matched.set(manyKeys[index], (seen ?? new Set()).add(resultKey));
      // The operands keep their sides: a filtering comparison keeps the left-hand value.
      const [a, b] = oneToMany ? [partner.values[k], value] : [value, partner.values[k]];
      const result = apply(a, b, a);
      // NaN is "no sample" here: a comparison that filtered the pair out.
      if (Number.isNaN(result)) return;
      let target = out.get(resultKey);
      if (!target) out.set(resultKey, (target = { labels, values: new Float64Array(steps.count).fill(NaN) }));
      target.values[k] = result;
    });
  }
  return [...out.values()];
}

async function setOperation(node: BinaryExpr, left: Series[], right: Series[], steps: Steps, ctx: QueryContext): Promise<Series[]> {
  await yieldIfDue(ctx);
  const rightByKey = new Map(right.map((series) => [matchKey(series.labels, node.matching), series]));
  const present = (series: Series | undefined, k: number) => series !== undefined && !Number.isNaN(series.values[k]);
  if (node.op === 'and' || node.op === 'unless') {
    return left.map((series) => {
      const partner = rightByKey.get(matchKey(series.labels, node.matching));
      const values = series.values.map((value, k) => (present(partner, k) === (node.op === 'and') ? value : NaN));
      return { labels: series.labels, values };
    });
  }
  const leftKeys = new Map(left.map((series) => [matchKey(series.labels, node.matching), series]));
  const out = [...left];
  for (const series of right) {
    const partner = leftKeys.get(matchKey(series.labels, node.matching));
    out.push({ labels: series.labels, values: series.values.map((value, k) => (present(partner, k) ? NaN : value)) });
  }
  return out.filter((series) => series.values.length === steps.count);
}
