import { MeshlogError } from '../../errors.js';
import type { Grouping, RangeAggregation } from './ast.js';
import {
  compileBuckets,
  compileLogfmtSampleRows,
  compileSampleRows,
  compileUnwrapWindows,
  isWindowGroupLabel,
  type BucketRow,
  type LogfmtSampleRow,
  type LogRow,
  type QueryScope,
  type UnwrapWindowRow,
} from './compiler.js';
import { entryLabels, entryOf, labelsKey, sortedObject } from './labelSet.js';
import { logfmtSampleLabels, readsOnlyError } from './logfmtSampleSql.js';
import { rangeValue, type Sample } from './metricFunctions.js';
import { windowFunctions } from './unwrapWindowFunctionSql.js';
import type { Series, Steps } from './metricValue.js';
import { compileLabelFilter, compilePipeline, convertValue, type Entry } from './pipeline.js';
import { countEngineRows, refusePastEngineRows, scopeOf, yieldIfDue, type QueryContext, type QueryLimits } from './queryContext.js';

export const bucketFunctions = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'absent_over_time']);

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function groupedLabels(labels: Map<string, string>, grouping: Grouping | undefined): Map<string, string> {
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

  /**
   * Every series, its samples in (time, value) order (a window's values then come in the
   * order unwrapWindows' SQL gives too), the series by their first sample and equal first
   * times by labels: one order whichever way ClickHouse returned rows of equal times or
   * groups, so that a vector aggregation over the series (`sum by (…) (rate(… | unwrap …))`)
   * folds them in one order and rounds alike on every run and either path.
   */
  all(): { labels: Map<string, string>; samples: Sample[] }[] {
    const series = [...this.byKey].map(([key, { labels, samples }]) => {
      samples.sort((a, b) => a.t - b.t || a.value - b.value);
      return { key, labels, samples };
    });
    series.sort((a, b) => a.samples[0].t - b.samples[0].t || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return series.map(({ labels, samples }) => ({ labels, samples }));
  }
}

/**
 * A range aggregation at every step. The window of step k is
 * (t_k − offset − range, t_k − offset]; sample times are kept relative to the
 * first window's start so that nanoseconds stay exact in a double.
 */
export async function evaluateRange(node: RangeAggregation, ctx: QueryContext, steps: Steps, pushedGroupBy?: string[]): Promise<Series[]> {
  const rangeNs = BigInt(node.rangeMs) * 1_000_000n;
  const offsetNs = BigInt(node.offsetMs) * 1_000_000n;
  const originNs = steps.startNs - offsetNs - rangeNs;
  const endNs = steps.startNs + steps.stepNs * BigInt(steps.count - 1) - offsetNs;
  const scope = scopeOf(ctx, { startNs: originNs, endNs });
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
  if (!viaBuckets) {
    const windowed = await unwrapWindows(node, ctx, scope, originNs, steps);
    if (windowed) return windowed;
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
 * `sum by (…) (sum_over_time(… | unwrap …))` windowed in SQL, one sum per (group, window), where
 * every value of a window is an integer and their magnitudes add up to at most 2^53: no order of
 * summing rounds there, so the engine's sum of each series and then of the series is that number.
 * Undefined otherwise, the engine path then answering (and refusing past its series limit, which
 * counts the series before the sum: SQL only counts groups).
 */
export async function unwrapSumByWindows(
  node: RangeAggregation,
  by: string[],
  ctx: QueryContext,
  steps: Steps,
): Promise<Series[] | undefined> {
  if (node.fn !== 'sum_over_time' || node.grouping || by.length === 0) return undefined;
  const rangeNs = BigInt(node.rangeMs) * 1_000_000n;
  const originNs = steps.startNs - BigInt(node.offsetMs) * 1_000_000n - rangeNs;
  const endNs = steps.startNs + steps.stepNs * BigInt(steps.count - 1) - BigInt(node.offsetMs) * 1_000_000n;
  const grouped: RangeAggregation = { ...node, grouping: { without: false, labels: by } };
  return unwrapWindows(grouped, ctx, scopeOf(ctx, { startNs: originNs, endNs }), originNs, steps);
}

/** Windows a row may fall in (range / step) past which copying rows to windows costs more than the engine's sliding windows. */
const maxWindowsPerRow = 64n;

/**
 * An unwrap aggregation grouped `by (…)` whose rows SQL converts, groups and windows, and
 * whose function it computes per window (compiler.ts's compileUnwrapWindows), when its
 * stages all run in SQL or leave only a plain `| logfmt`. Undefined when SQL cannot, or
 * flagged a row it cannot vouch for: the engine path then answers, errors included,
 * exactly as it always does.
 */
async function unwrapWindows(
  node: RangeAggregation,
  ctx: QueryContext,
  scope: QueryScope,
  originNs: bigint,
  steps: Steps,
): Promise<Series[] | undefined> {
  const unwrap = node.unwrap;
  if (!ctx.limits.pushdown || ctx.masking || !unwrap || unwrap.conversion === 'bytes') return undefined;
  if (!windowFunctions.has(node.fn) || !node.grouping || node.grouping.without) return undefined;
  const rangeNs = BigInt(node.rangeMs) * 1_000_000n;
  if (steps.count > 1 && rangeNs > steps.stepNs * maxWindowsPerRow) return undefined;
  // SQL keeps only samples without __error__: the filters after the unwrap must read only it, and keep such a sample.
  const clean: Entry = { timestampNs: '', line: '', labels: new Map() };
  if (!unwrap.postFilters.every((filter) => readsOnlyError(filter) && compileLabelFilter(filter)(clean))) return undefined;
  const residual = compileSampleRows(node.log, scope, { originNs, maxRows: 0, unwrapLabel: unwrap.label }).residual;
  const logfmt = residual.length > 0;
  if (logfmt ? !logfmtSampleLabels(node, residual) : ![...node.grouping.labels, unwrap.label].every(isWindowGroupLabel)) return undefined;
  const compiled = compileUnwrapWindows(node.log, scope, {
    originNs,
    stepNs: steps.stepNs,
    rangeNs,
    count: steps.count,
    unwrapLabel: unwrap.label,
    conversion: unwrap.conversion,
    fn: node.fn,
    phi: node.param,
    groupBy: node.grouping.labels,
    logfmt,
    maxRows: ctx.limits.maxEngineRows,
  });
  if (!compiled) return undefined;
  const rows = await ctx.runner.run<UnwrapWindowRow>(compiled, ctx.budget);
  ctx.rowsRead += rows.length;
  // The same limit as the engine path's: SQL stopped reading one row past it.
  refusePastEngineRows(
    ctx,
    rows.reduce((sum, row) => sum + Number(row.rows), 0),
  );
  if (rows.some((row) => row.unsure)) return undefined;
  const series = new Map<string, { labels: Map<string, string>; first: bigint; values: Float64Array }>();
  const rangeSeconds = node.rangeMs / 1000;
  for (const row of rows) {
    await yieldIfDue(ctx);
    const key = JSON.stringify(row.g);
    let group = series.get(key);
    if (!group) {
      const labels = new Map<string, string>();
      node.grouping.labels.forEach((name, index) => row.g[index] !== '' && labels.set(name, row.g[index]));
      series.set(key, (group = { labels, first: BigInt(row.first), values: new Float64Array(steps.count).fill(NaN) }));
    } else if (BigInt(row.first) < group.first) group.first = BigInt(row.first);
    const k = Number(row.k);
    if (k < 0) continue;
    if (row.values === undefined) {
      group.values[k] = row.value!;
      continue;
    }
    const samples = row.values.map((value) => ({ t: 0, entries: 1, bytes: 0, value }));
    const windowEnd = Number(steps.stepNs * BigInt(k) + rangeNs);
    group.values[k] = rangeValue(node, samples, 0, samples.length, rangeSeconds, windowEnd);
  }
  // Past the series limit the engine path answers, with its error.
  if (series.size > ctx.limits.maxSeries) return undefined;
  ctx.plan.push(...compiled.plan);
  // In the engine's order (SeriesSamples.all): by each series' first row, equal first rows by labels.
  return [...series.values()]
    .map(({ labels, first, values }) => ({ key: labelsKey(labels), first, labels, values }))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ labels, values }) => ({ labels: sortedObject(labels), values }));
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
