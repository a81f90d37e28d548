import { MeshlogError } from '../../errors.js';
import type { BinaryExpr, Expr, LabelReplace, MetricExpr, RangeAggregation, VectorAggregation, VectorMatching } from './ast.js';
import { compareLabels, labelsKey, sortedObject } from './labelSet.js';
import { expandGoReplacement, goRegex } from './goRegex.js';
import { aggregate, arithmetic, comparisonOps } from './metricFunctions.js';
import type { MetricValue, Series, Steps } from './metricValue.js';
import { yieldIfDue, type QueryContext } from './queryContext.js';
import { bucketFunctions, evaluateRange, groupedLabels, unwrapSumByWindows } from './rangeAggregation.js';

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
async function evaluateVectorAggregation(node: VectorAggregation, ctx: QueryContext, steps: Steps): Promise<Series[]> {
  // sum by (…) over a count/bytes range aggregation: group in SQL instead of per series.
  const pushDown =
    node.op === 'sum' &&
    !node.grouping?.without &&
    node.expr.kind === 'range' &&
    bucketFunctions.has(node.expr.fn) &&
    !node.expr.unwrap &&
    node.expr.fn !== 'absent_over_time';
  const summedInSql =
    node.op === 'sum' && !node.grouping?.without && node.expr.kind === 'range' && node.expr.unwrap
      ? await unwrapSumByWindows(node.expr, node.grouping?.labels ?? [], ctx, steps)
      : undefined;
  const input = summedInSql
    ? summedInSql
    : pushDown
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
      let value: string;
      try {
        value = expandGoReplacement(node.replacement, match);
      } catch (error) {
        throw new MeshlogError('ML_QUERY_LIMIT', `label_replace: ${(error as Error).message}`);
      }
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
