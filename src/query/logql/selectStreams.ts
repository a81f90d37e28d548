import type { EntryCategories } from '../../api/tail.js';
import { MeshlogError } from '../../errors.js';
import type { LogQuery } from './ast.js';
import { compileLogRows, type LogRow } from './compiler.js';
import { entryOf, labelsKey, sortedObject } from './labelSet.js';
import { compilePipeline, type Entry } from './pipeline.js';
import { scopeOf, yieldIfDue, type QueryContext } from './queryContext.js';

/** Loki's per-entry labels under categorize-labels: structured metadata and parsed labels, each present only when non-empty. */
export type { EntryCategories };

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
    const scope = scopeOf(ctx, slice);
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
      // Checked before the last page ends the loop too: a short last page must not let a query past the limit.
      if (ctx.rowsRead > ctx.limits.maxEngineRows) {
        throw new MeshlogError(
          'ML_QUERY_LIMIT',
          `the query read more than ${ctx.limits.maxEngineRows} rows: narrow the selector, time range or line filters`,
        );
      }
      if (rows.length < pageSize) break;
    }
  }
  return [...streams.values()];
}
