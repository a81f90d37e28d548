import { MeshlogError } from '../../errors.js';
import type { Grouping, RangeAggregation } from './ast.js';
import {
  compileBuckets,
  compileLogfmtSampleRows,
  compileSampleRows,
  type BucketRow,
  type LogfmtSampleRow,
  type LogRow,
  type QueryScope,
} from './compiler.js';
import { entryLabels, entryOf, labelsKey, sortedObject } from './labelSet.js';
import { logfmtSampleLabels } from './logfmtSampleSql.js';
import { rangeValue, type Sample } from './metricFunctions.js';
import type { Series, Steps } from './metricValue.js';
import { compileLabelFilter, compilePipeline, convertValue, type Entry } from './pipeline.js';
import { countEngineRows, yieldIfDue, type QueryContext, type QueryLimits } from './queryContext.js';

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

  all(): { labels: Map<string, string>; samples: Sample[] }[] {
    return [...this.byKey.values()];
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
