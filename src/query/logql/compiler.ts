import type { LabelFilter, LabelMatcher, LineFilter, LogQuery, RangeFunction, Stage } from './ast.js';
import type { CompiledSql } from '../../storage/sql.js';
import { extractedLabelPrefilter } from './extractedLabelPrefilter.js';
import { jsonFilterCondition } from './jsonFilterSql.js';
import { logfmtValuePattern, plainLogfmtLinePattern } from './logfmtSampleSql.js';
import { isMeshLabel, meshLabelColumnSql, meshLabelsSql, meshSelectorLabels } from './meshLabels.js';
import { unwrapValueSql } from './unwrapValueSql.js';
import { unwrapWindowFunctionSql } from './unwrapWindowFunctionSql.js';

/** SQL with `{name:Type}` placeholders and their values: user input never enters the SQL text. */
export interface CompiledLogQuery extends CompiledSql {
  /** How each part of the query runs: in ClickHouse (and whether an index serves it) or in the query engine. */
  plan: string[];
  /** Stages the query engine still runs over the returned rows, in order. */
  residual: Stage[];
}

/**
 * What read masking hides from the reader: SQL may filter only where the
 * masked and the stored values agree, or it would answer with what it hides.
 */
export interface MaskedLabels {
  isSensitive(label: string): boolean;
  /** Observe-mode redaction may rewrite any value of a marked record. */
  anyValue: boolean;
  /** The texts masking writes in place of values (`[MASKED]`, `[MASKED:email]`…). */
  markers: string[];
  /** What a sensitive label's value reads as, wherever it is set (`[MASKED]`). */
  marker: string;
}

/** Who may be read and when: every compiled query is confined to its tenant (or tenants) and a time range. */
export interface QueryScope {
  database: string;
  tenant: string;
  /**
   * Set for Loki's multi-tenant query (`a|b`, each tenant held by the reader): these tenants
   * are read instead of `tenant`, and every line carries the stream label `__tenant_id__`.
   */
  tenants?: readonly string[];
  /** Set when the reader sees masked values: every stage then runs again over the masked entry. */
  masked?: MaskedLabels;
  /** Inclusive lower bound, ns since the epoch. */
  startNs: bigint;
  /** Exclusive upper bound, ns since the epoch. */
  endNs: bigint;
  /** query.pushdown: ClickHouse also does the work it can prove gives the engine's results (docs/querying.md). */
  pushdown?: boolean;
}

/** Columns a log row query returns; the engine turns them into a label set (see labelSet.ts). */
export interface LogRow {
  ts: string;
  body: string;
  service_name: string;
  level: string;
  resource_attributes: Record<string, string>;
  log_attributes: Record<string, string>;
  trace_id: string;
  span_id: string;
  /** The record's mesh columns as labels (meshLabels.ts). */
  mesh_labels: Record<string, string>;
  /** The row's tenant, read only for a multi-tenant query: the `__tenant_id__` label. */
  tenant_id?: string;
}

export interface BucketRow {
  /** Group label values in groupBy order, or the full label columns. */
  g: string[];
  resource_attributes?: Record<string, string>;
  log_attributes?: Record<string, string>;
  mesh_labels?: Record<string, string>;
  bucket: string;
  entries: string;
  bytes: string;
}

/**
 * Detected level, as Loki 3 names OTLP severities: severity text lower-cased, else from the severity number.
 * A column materialized at insert (migration 19), like k8s_namespace_name.
 */
const levelSql = 'detected_level';
/** Labels stored as their own column, computed at insert as the map lookups below would compute them. */
const labelColumns = new Set(['service_name', 'k8s_namespace_name']);

const rowColumns = `toString(toUnixTimestamp64Nano(timestamp)) AS ts, body, service_name, ${levelSql} AS level,
  resource_attributes, log_attributes, trace_id, span_id, ${meshLabelsSql} AS mesh_labels`;

/** The columns of log rows; a multi-tenant query also reads each row's tenant. */
function rowColumnsOf(scope: QueryScope): string {
  return scope.tenants ? `${rowColumns}, tenant AS tenant_id` : rowColumns;
}

/** The statement's tenant condition: the one tenant, or the tenants of a multi-tenant query. */
function tenantSql(scope: QueryScope, params: Params): string {
  return scope.tenants ? `tenant IN ${params.add('Array(String)', scope.tenants)}` : `tenant = ${params.add('String', scope.tenant)}`;
}

/** The label Loki's multi-tenant queries give each line: its tenant. */
export const tenantLabel = '__tenant_id__';

/** Builds one statement's parameters: each value gets a fresh `{pN:Type}` placeholder. */
class Params {
  readonly values: Record<string, unknown> = {};
  private count = 0;
  /** Whether the statement reads several tenants: `__tenant_id__` is then the tenant column. */
  readonly multiTenant: boolean;

  constructor(scope?: QueryScope) {
    this.multiTenant = scope?.tenants !== undefined;
  }

  add(type: string, value: unknown): string {
    const name = `p${this.count++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

/**
 * The SQL value of a label. Stream labels are service_name, the detected
 * level and the resource attributes; `metadata` adds structured metadata
 * (log attributes, trace_id, span_id, pattern_id, mesh columns), which label
 * filters may use. Selectors may also name the low-cardinality mesh columns.
 * The order of precedence is labelSet.ts's: resource, mesh column, log attribute.
 */
function labelSql(name: string, params: Params, metadata: boolean, level = levelSql): string {
  if (name === 'service_name') return 'service_name';
  if (name === tenantLabel && params.multiTenant) return 'tenant';
  if (name === 'level' || name === 'detected_level') return level;
  if (metadata && (name === 'trace_id' || name === 'span_id' || name === 'pattern_id')) return name;
  const resource = labelColumns.has(name) ? name : normalizedLookup('resource_attributes', name, params);
  if (isMeshLabel(name) && (metadata || meshSelectorLabels.has(name))) {
    // The same text twice is one expression to ClickHouse: the lookup runs once.
    const mesh = meshLabelColumnSql(name);
    if (!metadata) return `if(${resource} != '', ${resource}, ${mesh})`;
    return `multiIf(${resource} != '', ${resource}, ${mesh} != '', ${mesh}, ${normalizedLookup('log_attributes', name, params)})`;
  }
  if (!metadata) return resource;
  return `if(${resource} != '', ${resource}, ${normalizedLookup('log_attributes', name, params)})`;
}

function normalizedLookup(map: string, name: string, params: Params): string {
  // Without `_` the label name is the attribute key itself: a plain map lookup.
  if (!name.includes('_')) return `${map}[${params.add('String', name)}]`;
  // OTel keys are dotted (k8s.namespace.name): try that key and the name itself with cheap
  // lookups; only rows with neither pay for normalizing keys, and only keys of the name's length
  // (one `_` per character replaced; keys are valid UTF-8): 4.6-5.9x faster on 8-key maps.
  const dotted = params.add('String', name.replaceAll('_', '.'));
  const literal = params.add('String', name);
  const sanitized = `if(lengthUTF8(k) = ${name.length}, replaceRegexpAll(k, '[^A-Za-z0-9_]', '_'), '')`;
  const normalized = `arrayElement(mapValues(${map}), indexOf(arrayMap(k -> ${sanitized}, mapKeys(${map})), ${literal}))`;
  return `multiIf(mapContains(${map}, ${dotted}), ${map}[${dotted}], mapContains(${map}, ${literal}), ${map}[${literal}], ${normalized})`;
}

/**
 * A label as a reader who sees masked values sees it (docs/security/read-masking.md):
 * a sensitive label reads as the marker wherever it is set, so a matcher on it
 * compares with the masked form and a stored value never matches.
 */
function maskedLabelSql(name: string, params: Params, metadata: boolean, level: string, masked: MaskedLabels): string {
  const stored = labelSql(name, params, metadata, level);
  return masked.isSensitive(name) ? `if(${stored} != '', ${params.add('String', masked.marker)}, '')` : stored;
}

function matcherSql(matcher: LabelMatcher, params: Params, metadata: boolean, level = levelSql, masked?: MaskedLabels): string {
  const value = masked ? maskedLabelSql(matcher.name, params, metadata, level, masked) : labelSql(matcher.name, params, metadata, level);
  switch (matcher.op) {
    case '=':
      return `${value} = ${params.add('String', matcher.value)}`;
    case '!=':
      return `${value} != ${params.add('String', matcher.value)}`;
    // LogQL label regexes are anchored at both ends; `.+` and `.*`, the most common, need no regex (as in Loki).
    case '=~':
      if (matcher.value === '.+') return `${value} != ''`;
      if (matcher.value === '.*') return '1';
      return `match(${value}, ${params.add('String', `^(?:${matcher.value})$`)})`;
    case '!~':
      if (matcher.value === '.+') return `${value} = ''`;
      if (matcher.value === '.*') return '0';
      return `NOT match(${value}, ${params.add('String', `^(?:${matcher.value})$`)})`;
  }
}

/** Tokens of the body's text index (splitByNonAlpha) that a substring match guarantees are whole tokens. */
export function completeTokens(needle: string): string[] {
  // Non-ASCII bytes: whether the tokenizer splits on them is not ours to assume.
  if (/[^\x00-\x7f]/.test(needle)) return [];
  const tokens: string[] = [];
  for (const match of needle.matchAll(/[A-Za-z0-9]+/g)) {
    const end = match.index + match[0].length;
    // A token touching either end of the needle may continue in the line (`error` in `errors`).
    if (match.index > 0 && end < needle.length) tokens.push(match[0]);
  }
  return [...new Set(tokens)];
}

const regexMeta = /[\\^$.|?*+()[\]{}]/;

/** A LIKE pattern matching `text` anywhere: `%`, `_` and `\\` escaped. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`;
}

function lineFilterSql(filter: LineFilter, params: Params, plan: string[]): string {
  const negated = filter.op === '!=' || filter.op === '!~';
  const alternatives = filter.values.map((value) => {
    const literal = filter.op === '|=' || filter.op === '!=' || !regexMeta.test(value) ? value : undefined;
    const what = `line filter ${filter.op} ${JSON.stringify(value)}`;
    if (literal === undefined) {
      plan.push(`${what}: regular expression, scans body (no text index)`);
      return `match(body, ${params.add('String', value)})`;
    }
    const contains = `body LIKE ${params.add('String', containsPattern(literal))}`;
    if (negated) {
      plan.push(`${what}: negative filter, scans body (no text index)`);
      return contains;
    }
    const tokens = completeTokens(literal);
    if (tokens.length === 0) {
      // The text index serves a LIKE of one partial word through its token dictionary; several words it cannot.
      plan.push(
        /^[A-Za-z0-9]+$/.test(literal)
          ? `${what}: substring of one word, text index token dictionary (LIKE)`
          : `${what}: no whole token in the text (its ends may be parts of longer words), scans body (no text index)`,
      );
      return contains;
    }
    plan.push(`${what}: text index on tokens ${JSON.stringify(tokens)}, then substring check`);
    return `(hasAllTokens(body, ${params.add('Array(String)', tokens)}) AND ${contains})`;
  });
  const any = alternatives.length === 1 ? alternatives[0] : `(${alternatives.join(' OR ')})`;
  return negated ? `NOT ${any}` : any;
}

/** Label filters made only of string matchers run in SQL; numeric comparisons need the engine's conversions. */
function labelFilterSql(filter: LabelFilter, params: Params, masked?: MaskedLabels): string | undefined {
  if (filter.kind === 'match') return matcherSql(filter.matcher, params, true, levelSql, masked);
  if (filter.kind === 'compare') return undefined;
  const left = labelFilterSql(filter.left, params, masked);
  const right = labelFilterSql(filter.right, params, masked);
  if (left === undefined || right === undefined) return undefined;
  return `(${left} ${filter.kind.toUpperCase()} ${right})`;
}

const lineChangingStages = new Set(['line_format', 'decolorize']);
const errorLabels = new Set(['__error__', '__error_details__']);
const labelChangingStages = new Set(['json', 'logfmt', 'unpack', 'regexp', 'pattern', 'label_format', 'drop', 'keep']);

/**
 * A matcher that keeps, in SQL, every row whose masked value it would keep: any matcher
 * on a sensitive label (SQL compares its masked form), any matcher when only names are
 * masked, and under observe-mode rules equality to a value no rule's marker can produce.
 */
function maskSafeMatcher(matcher: LabelMatcher, masked: MaskedLabels): boolean {
  return (
    masked.isSensitive(matcher.name) ||
    !masked.anyValue ||
    (matcher.op === '=' && !masked.markers.some((marker) => matcher.value.includes(marker.slice(0, -1))))
  );
}

function maskSafeLabelFilter(filter: LabelFilter, masked: MaskedLabels): boolean {
  if (filter.kind === 'match') return maskSafeMatcher(filter.matcher, masked);
  if (filter.kind === 'compare') return false;
  return maskSafeLabelFilter(filter.left, masked) && maskSafeLabelFilter(filter.right, masked);
}

/** A literal that cannot match across text masking wrote: it keeps, on stored lines, every line it keeps on masked ones. */
function maskSafeLineFilter(filter: LineFilter, masked: MaskedLabels): boolean {
  return (
    filter.op === '|=' && filter.values.every((value) => !/[[\]]/.test(value) && !masked.markers.some((marker) => marker.includes(value)))
  );
}

/**
 * For a reader who sees masked values: SQL keeps only the conditions that
 * cannot tell stored values from masked ones, as a prefilter; the selector
 * and every stage run again in the engine over the masked entry, so no
 * filter, parser, template or grouping ever sees what the reader may not.
 */
function maskedWhereClause(
  log: LogQuery,
  scope: QueryScope,
  masked: MaskedLabels,
  params: Params,
  plan: string[],
  timeSql: string,
): { where: string; residual: Stage[] } {
  const conditions = [tenantSql(scope, params), timeSql];
  for (const matcher of log.selector)
    if (maskSafeMatcher(matcher, masked)) conditions.push(matcherSql(matcher, params, false, levelSql, masked));
  let lineChanged = false;
  let labelsChanged = false;
  for (const stage of log.stages) {
    if (stage.kind === 'line_filter' && !lineChanged && maskSafeLineFilter(stage, masked))
      conditions.push(lineFilterSql(stage, params, plan));
    if (stage.kind === 'label_filter' && !labelsChanged && maskSafeLabelFilter(stage.filter, masked)) {
      const sql = labelFilterSql(stage.filter, params, masked);
      if (sql !== undefined) conditions.push(sql);
    }
    if (lineChangingStages.has(stage.kind)) lineChanged = true;
    if (labelChangingStages.has(stage.kind)) labelsChanged = true;
  }
  plan.push(
    'read masking: SQL prefilters only where masked and stored values agree; selector and stages run in the query engine over masked entries',
  );
  const selectorAgain: Stage[] = log.selector.map((matcher) => ({ kind: 'label_filter', filter: { kind: 'match', matcher } }));
  return { where: conditions.join('\n  AND '), residual: [...selectorAgain, ...log.stages] };
}

/** The id of a `trace_id="…"` filter. */
function oneTraceId(filter: LabelFilter): string | undefined {
  return filter.kind === 'match' && filter.matcher.name === 'trace_id' && filter.matcher.op === '=' && filter.matcher.value !== ''
    ? filter.matcher.value
    : undefined;
}

/**
 * The primary keys of a trace's rows, read from the trace_rows projection (migration 21):
 * the rows themselves are then found by key, one granule per line at most.
 */
function traceRowsSql(scope: QueryScope, traceId: string, params: Params, timeSql: string): string {
  return `(tenant, service_name, timestamp) IN (SELECT tenant, service_name, timestamp FROM ${scope.database}.logs
    WHERE ${tenantSql(scope, params)} AND trace_id = ${params.add('String', traceId)} AND ${timeSql})`;
}

/** Splits a log query into SQL conditions (tenant, time, selector, filters that can run there) and the rest. */
function whereClause(
  log: LogQuery,
  scope: QueryScope,
  params: Params,
  plan: string[],
  timeSql: string,
  unwrapLabel?: string,
): { where: string; residual: Stage[] } {
  if (scope.masked) return maskedWhereClause(log, scope, scope.masked, params, plan, timeSql);
  const conditions = [tenantSql(scope, params), timeSql];
  for (const matcher of log.selector) conditions.push(matcherSql(matcher, params, false));
  plan.push(
    `stream selector: ${log.selector.length} matcher(s) in SQL, tenant ${JSON.stringify(scope.tenants?.join('|') ?? scope.tenant)}`,
  );
  const residual: Stage[] = [];
  let lineChanged = false;
  let labelsChanged = false;
  // Numeric label filters mark unconvertible values with __error__.
  let errorsPossible = false;
  for (const stage of log.stages) {
    if (stage.kind === 'line_filter' && !lineChanged) {
      conditions.push(lineFilterSql(stage, params, plan));
      continue;
    }
    if (stage.kind === 'label_filter' && !labelsChanged) {
      const sql = labelFilterSql(stage.filter, params);
      if (sql !== undefined) {
        conditions.push(sql);
        const traceId = scope.pushdown ? oneTraceId(stage.filter) : undefined;
        if (traceId !== undefined) {
          conditions.push(traceRowsSql(scope, traceId, params, timeSql));
          plan.push('trace_id lookup: row keys from the trace_rows projection, then those rows only');
        } else plan.push('label filter on stream labels / structured metadata: in SQL');
        continue;
      }
    }
    // Grafana's log volume query drops error labels; before any parser or numeric filter there are none.
    if (stage.kind === 'drop' && !labelsChanged && !errorsPossible && stage.items.every((item) => errorLabels.has(item.name))) {
      plan.push('drop of error labels before any parser: nothing to drop');
      continue;
    }
    if (stage.kind === 'line_filter') plan.push(`line filter ${stage.op} after line_format/decolorize: evaluated by the query engine`);
    else if (stage.kind === 'label_filter')
      plan.push('label filter on extracted labels or numeric comparison: evaluated by the query engine');
    else plan.push(`${stage.kind}: evaluated by the query engine`);
    if (lineChangingStages.has(stage.kind)) lineChanged = true;
    if (labelChangingStages.has(stage.kind)) labelsChanged = true;
    if (stage.kind === 'label_filter') errorsPossible = true;
    residual.push(stage);
  }
  if (scope.pushdown) {
    const prefilter = extractedLabelPrefilter(
      log.stages,
      { param: (type, value) => params.add(type, value), originalLabel: (name) => labelSql(name, params, true) },
      unwrapLabel,
    );
    if (prefilter.length > 0)
      plan.push(
        `json/logfmt label filters${unwrapLabel === undefined ? '' : ' and unwrap'}: ${prefilter.length} necessary condition(s) in SQL, stages run again in the query engine`,
      );
    conditions.push(...prefilter);
    const decided = jsonFilterCondition(residual, {
      param: (type, value) => params.add(type, value),
      errorAttribute: () => errorAttributeSql(params),
    });
    if (decided !== undefined) {
      conditions.push(decided);
      plan.push('json label matchers: decided in SQL on plain JSON lines; the other lines through the query engine');
    }
  }
  return { where: conditions.join('\n  AND '), residual };
}

/** Log lines of a query in time order; `limit` applies in SQL only when no engine stage can drop rows. */
export function compileLogRows(
  log: LogQuery,
  scope: QueryScope,
  options: { direction: 'forward' | 'backward'; limit: number; offset: number },
): CompiledLogQuery {
  const params = new Params(scope);
  const plan: string[] = [];
  const timeSql = `timestamp >= fromUnixTimestamp64Nano(${params.add('Int64', scope.startNs.toString())}) AND timestamp < fromUnixTimestamp64Nano(${params.add('Int64', scope.endNs.toString())})`;
  const { where, residual } = whereClause(log, scope, params, plan, timeSql);
  const sql = `SELECT ${rowColumnsOf(scope)}
FROM ${scope.database}.logs
WHERE ${where}
ORDER BY timestamp ${options.direction === 'forward' ? 'ASC' : 'DESC'}
LIMIT ${params.add('UInt64', options.limit)} OFFSET ${params.add('UInt64', options.offset)}`;
  return { sql, params: params.values, plan, residual };
}

const minuteNs = 60_000_000_000n;
/** The minute of a row in the minute_counts projection (migration 19): minute m covers (m·60 s, (m+1)·60 s]. */
const minuteSql = 'intDiv(toUnixTimestamp64Nano(timestamp) - 1, 60000000000)';
/** Labels the minute_counts projection keeps (level is detected_level). */
const minuteLabels = new Set(['service_name', 'k8s_namespace_name', 'level', 'detected_level']);
/** Of those, the ones `sum by` may name: a grouping label may also come from structured metadata, which these never do. */
const minuteGroupLabels = new Set(['service_name', 'level', 'detected_level']);

/**
 * Whether per-minute counts hold what a bucket query needs: a grouped query whose
 * selector and grouping use only the projection's labels, with no other stage.
 */
function fitsMinuteCounts(log: LogQuery, options: { groupBy?: string[] }): boolean {
  return (
    options.groupBy !== undefined &&
    options.groupBy.every((name) => minuteGroupLabels.has(name)) &&
    log.selector.every((matcher) => minuteLabels.has(matcher.name)) &&
    log.stages.every((stage) => stage.kind === 'drop' && stage.items.every((item) => errorLabels.has(item.name)))
  );
}

/**
 * Most window bounds for which the minutes they cut are read as rows beside the per-minute counts
 * (an instant query has two), listed one by one: measured at 2M rows, 289 time ranges OR'd (a 24 h
 * range at a 5-minute step off the minute) took ClickHouse 9× longer than one range. Past it, bounds a
 * whole number of minutes apart cut every period-th minute, told apart by one condition (cutProgression).
 */
const maxCutMinutes = 16;

/** The minutes window bounds cut: listed, or every `period`-th minute (the minutes ≡ `residue` mod `period`). */
type CutMinutes = { list: bigint[] } | { period: bigint; residue: bigint; count: bigint };

/**
 * Minutes of (origin, end] that a window bound (origin + j·width) or the end cuts, so that
 * their rows fall in two buckets: those minutes are read as rows, the others as per-minute
 * counts. An empty list when every bound falls on a minute; undefined when too many are cut.
 */
function cutMinutes(originNs: bigint, widthNs: bigint, endNs: bigint): CutMinutes | undefined {
  const cuts: bigint[] = [];
  const bounds = [endNs];
  for (let bound = originNs; bound < endNs; bound += widthNs) {
    bounds.push(bound);
    if (bounds.length > maxCutMinutes) return cutProgression(originNs, widthNs, endNs);
  }
  // Minute m is (m·60 s, (m+1)·60 s]: a bound strictly inside it is in minute ⌊bound / 60 s⌋.
  for (const bound of bounds) if (bound % minuteNs !== 0n) cuts.push(bound / minuteNs);
  const distinct = [...new Set(cuts)].sort((a, b) => (a < b ? -1 : 1));
  // Most minutes cut (a 1-minute step off the minute): reading every row in one range is cheaper.
  return BigInt(distinct.length) * 2n * minuteNs > endNs - originNs ? undefined : { list: distinct };
}

/**
 * Bounds a whole number of minutes apart, from an origin off the minute to an end that is one of
 * them (a range query's windows: end − origin is range + (steps − 1)·step), all cut their minutes
 * at the same second: every period-th minute from the origin's, and no other.
 */
function cutProgression(originNs: bigint, widthNs: bigint, endNs: bigint): CutMinutes | undefined {
  if (originNs <= 0n || originNs % minuteNs === 0n || widthNs % minuteNs !== 0n || (endNs - originNs) % widthNs !== 0n) return undefined;
  const period = widthNs / minuteNs;
  // Half the minutes or more cut (a 1- or 2-minute width): reading every row in one range is cheaper.
  if (period < 3n) return undefined;
  return { period, residue: (originNs / minuteNs) % period, count: (endNs - originNs) / widthNs + 1n };
}

/**
 * Counts (and bytes, when `bytes`) per series and time bucket, for range aggregations
 * whose whole pipeline runs in SQL. A bucket i covers (origin + (i-1)·width, origin + i·width].
 * `groupBy` pushes an outer `sum by (…)` down; without it rows carry every label column.
 * When per-minute counts hold the labels, whole minutes inside one bucket come from them
 * and only minutes a window bound cuts (off-minute ranges, steps or instants) from rows.
 */
export function compileBuckets(
  log: LogQuery,
  scope: QueryScope,
  options: { originNs: bigint; widthNs: bigint; groupBy?: string[]; bytes?: boolean },
): CompiledLogQuery {
  const params = new Params(scope);
  const plan: string[] = [];
  const aligned = options.originNs % minuteNs === 0n && options.widthNs % minuteNs === 0n && scope.endNs % minuteNs === 0n;
  const fits = fitsMinuteCounts(log, options);
  const cuts = fits && !aligned && scope.pushdown ? cutMinutes(options.originNs, options.widthNs, scope.endNs) : undefined;
  const groups = options.groupBy
    ? options.groupBy.map((name) => labelSql(name, params, true))
    : ['service_name', levelSql, 'trace_id', 'span_id', ...(scope.tenants ? ['tenant'] : [])];
  const extra = options.groupBy ? [] : ['resource_attributes', 'log_attributes', 'mesh_labels'];
  const extraSql: Record<string, string> = { mesh_labels: `${meshLabelsSql} AS mesh_labels` };
  // sum(…) without by: one group, an empty array typed so ClickHouse can group by it.
  const groupArray = groups.length > 0 ? `[${groups.join(', ')}]` : `CAST([], 'Array(String)')`;
  // Bodies are the widest column: read them only for bytes_over_time / bytes_rate.
  const bytesSql = options.bytes ? 'sum(length(body))' : '0';
  const origin = params.add('Int64', options.originNs.toString());
  const width = params.add('Int64', options.widthNs.toString());
  const select = (timeSql: string, bucketSql: string, planned = plan): { sql: string; residual: Stage[] } => {
    const { where, residual } = whereClause(log, scope, params, planned, timeSql);
    const sql = `SELECT ${groupArray} AS g, ${extra.map((column) => `${extraSql[column] ?? column}, `).join('')}
  toString(${bucketSql}) AS bucket,
  toString(count()) AS entries, toString(${bytesSql}) AS bytes
FROM ${scope.database}.logs
WHERE ${where}
GROUP BY g, ${extra.map((column) => `${column}, `).join('')}bucket`;
    return { sql, residual };
  };
  const rowBucketSql = `intDiv(toUnixTimestamp64Nano(timestamp) - ${origin} + ${width} - 1, ${width})`;
  if (fits && (aligned || cuts !== undefined)) {
    // Whole minutes: t in (origin, end] is minute in [⌈origin / 60 s⌉, ⌊end / 60 s⌋ − 1]; all of minute m is in the bucket of its last instant.
    const first = params.add('Int64', ((options.originNs + minuteNs - 1n) / minuteNs).toString());
    const last = params.add('Int64', (scope.endNs / minuteNs - 1n).toString());
    // A minute of the progression: minute mod period = residue.
    const progression =
      cuts && 'period' in cuts
        ? `${minuteSql} % ${params.add('Int64', cuts.period.toString())} = ${params.add('Int64', cuts.residue.toString())}`
        : undefined;
    let cutSql = '';
    if (progression) cutSql = ` AND NOT (${progression})`;
    else if (cuts && 'list' in cuts && cuts.list.length > 0)
      cutSql = ` AND NOT has(${params.add('Array(Int64)', cuts.list.map(Number))}, ${minuteSql})`;
    const minutes = select(
      `${minuteSql} >= ${first} AND ${minuteSql} <= ${last}${cutSql}`,
      `intDiv((${minuteSql} + 1) * toInt64(60000000000) - ${origin} + ${width} - 1, ${width})`,
    );
    plan.push(`range aggregation from per-minute counts (projection minute_counts), grouped by (${options.groupBy!.join(', ')})`);
    if (!cuts || ('list' in cuts && cuts.list.length === 0))
      return { sql: minutes.sql, params: params.values, plan, residual: minutes.residual };
    let rows: { sql: string };
    if ('period' in cuts) {
      const endSql = params.add('Int64', scope.endNs.toString());
      const inRange = `timestamp > fromUnixTimestamp64Nano(${origin}) AND timestamp <= fromUnixTimestamp64Nano(${endSql})`;
      rows = select(`${inRange} AND ${progression}`, rowBucketSql, []);
      plan.push(`${cuts.count} minute(s) cut by window bounds read as rows (every ${cuts.period}th minute, one condition)`);
    } else {
      // Rows of the cut minutes, clipped to (origin, end].
      const list = cuts.list;
      const ranges = list.map((minute) => {
        const from = minute * minuteNs > options.originNs ? minute * minuteNs : options.originNs;
        const to = (minute + 1n) * minuteNs < scope.endNs ? (minute + 1n) * minuteNs : scope.endNs;
        return `(timestamp > fromUnixTimestamp64Nano(toInt64(${from})) AND timestamp <= fromUnixTimestamp64Nano(toInt64(${to})))`;
      });
      rows = select(`(${ranges.join(' OR ')})`, rowBucketSql, []);
      plan.push(`${list.length} minute(s) cut by window bounds read as rows`);
    }
    return { sql: `${minutes.sql}\nUNION ALL\n${rows.sql}`, params: params.values, plan, residual: minutes.residual };
  }
  const timeSql = `timestamp > fromUnixTimestamp64Nano(${origin}) AND timestamp <= fromUnixTimestamp64Nano(${params.add('Int64', scope.endNs.toString())})`;
  const { sql, residual } = select(timeSql, rowBucketSql);
  plan.push(
    options.groupBy ? `range aggregation in SQL, grouped by (${options.groupBy.join(', ')})` : 'range aggregation in SQL, per series',
  );
  return { sql, params: params.values, plan, residual };
}

/** Rows for range aggregations that need the engine (parsers, unwrap…): same as log rows, bounded by `maxRows`. */
export function compileSampleRows(
  log: LogQuery,
  scope: QueryScope,
  options: { originNs: bigint; maxRows: number; unwrapLabel?: string },
): CompiledLogQuery {
  const params = new Params(scope);
  const plan: string[] = [];
  const timeSql = `timestamp > fromUnixTimestamp64Nano(${params.add('Int64', options.originNs.toString())}) AND timestamp <= fromUnixTimestamp64Nano(${params.add('Int64', scope.endNs.toString())})`;
  const { where, residual } = whereClause(log, scope, params, plan, timeSql, options.unwrapLabel);
  const sql = `SELECT ${rowColumnsOf(scope)}
FROM ${scope.database}.logs
WHERE ${where}
ORDER BY timestamp
LIMIT ${params.add('UInt64', options.maxRows + 1)}`;
  plan.push('range aggregation in the query engine over the rows SQL returns');
  return { sql, params: params.values, plan, residual };
}

/**
 * A sample row: `plain` rows carry the labels ClickHouse extracted (`extracted`, '' = absent);
 * the others the whole log row, under names of their own (an alias named like a column would
 * replace that column in the statement's other expressions).
 */
export interface LogfmtSampleRow {
  ts: string;
  plain: number;
  extracted: string[];
  size: string;
  line: string;
  service_name: string;
  level: string;
  resource: Record<string, string>;
  attributes: Record<string, string>;
  trace_id: string;
  span_id: string;
  mesh_map: Record<string, string>;
  tenant_id?: string;
}

/**
 * compileSampleRows for a `| logfmt | unwrap` aggregation (logfmtSampleSql.ts): on plain
 * lines that came with none of `labels` (nor `__error__`), ClickHouse extracts those
 * labels and returns only them; other rows come whole, for the engine's pipeline.
 */
export function compileLogfmtSampleRows(
  log: LogQuery,
  scope: QueryScope,
  options: { originNs: bigint; maxRows: number; unwrapLabel: string; labels: string[] },
): CompiledLogQuery {
  const params = new Params(scope);
  const plan: string[] = [];
  const timeSql = `timestamp > fromUnixTimestamp64Nano(${params.add('Int64', options.originNs.toString())}) AND timestamp <= fromUnixTimestamp64Nano(${params.add('Int64', scope.endNs.toString())})`;
  const { where, residual } = whereClause(log, scope, params, plan, timeSql, options.unwrapLabel);
  const { plain, values } = logfmtExtractionSql(options.labels, params);
  const emptyMap = "CAST(map(), 'Map(LowCardinality(String), String)')";
  const sql = `SELECT toString(toUnixTimestamp64Nano(timestamp)) AS ts, ${plain} AS plain, [${values.join(', ')}] AS extracted,
  toString(length(body)) AS size, if(plain, '', body) AS line, service_name, ${levelSql} AS level,
  if(plain, ${emptyMap}, resource_attributes) AS resource, if(plain, ${emptyMap}, log_attributes) AS attributes,
  trace_id, span_id, if(plain, CAST(map(), 'Map(String, String)'), ${meshLabelsSql}) AS mesh_map${scope.tenants ? ', tenant AS tenant_id' : ''}
FROM ${scope.database}.logs
WHERE ${where}
ORDER BY timestamp
LIMIT ${params.add('UInt64', options.maxRows + 1)}`;
  plan.push(
    `logfmt labels (${options.labels.join(', ')}) extracted in SQL on plain lines; other lines through the query engine's pipeline`,
  );
  return { sql, params: params.values, plan, residual };
}

/**
 * Whether a row's line is plain logfmt that came with none of `labels` (nor an attribute
 * that could be `__error__`), and each label's value extracted from it ('' when absent or
 * not plain): logfmtSampleSql.ts says why the extraction equals the engine's decoder there.
 * The values read the `plain` alias, which the statement must define.
 */
function logfmtExtractionSql(labels: string[], params: Params): { plain: string; values: string[] } {
  const unset = labels.map((name) => `${labelSql(name, params, true)} = ''`);
  unset.push(`NOT ${errorAttributeSql(params)}`);
  const plain = `match(body, ${params.add('String', plainLogfmtLinePattern)}) AND ${unset.join(' AND ')}`;
  const values = labels.map(
    (name) => `if(plain, trim(BOTH '"' FROM extract(body, ${params.add('String', logfmtValuePattern(name))})), '')`,
  );
  return { plain, values };
}

/** An attribute key that could be named __error__ (it keeps the letters): cheaper than normalizing every key of every row. */
function errorAttributeSql(params: Params): string {
  const error = params.add('String', 'error');
  return `(${['resource_attributes', 'log_attributes'].map((map) => `arrayExists(k -> position(k, ${error}) > 0, mapKeys(${map}))`).join(' OR ')})`;
}

/**
 * Labels whose value labelSql reads exactly as the engine's entry has it (labelSet.ts):
 * not those a column and an attribute can both give (level, detected_level, trace and
 * span ids, pattern_id), nor error labels. service_name falls back to the attribute.
 */
export function isWindowGroupLabel(name: string): boolean {
  return !['level', 'detected_level', 'trace_id', 'span_id', 'pattern_id', '__error__', '__error_details__'].includes(name);
}

function windowGroupLabelSql(name: string, params: Params): string {
  if (name === 'service_name') return `if(service_name != '', service_name, ${normalizedLookup('resource_attributes', name, params)})`;
  return labelSql(name, params, true);
}

/** A window of an unwrap aggregation (compileUnwrapWindows). */
export interface UnwrapWindowRow {
  /** Grouping label values in `by` order ('' = absent). */
  g: string[];
  /** Window index; -1 gathers rows in no window, which still make their series and are checked. */
  k: string;
  /** ns after the origin of the group's first row in the window. */
  first: string;
  /** 1 when some row's value SQL cannot convert as the engine does, or whose labels it cannot vouch for, or the window's value. */
  unsure: number;
  /** The function over the window's values, where SQL computes it (unwrapWindowFunctionSql.ts)… */
  value?: number;
  /** …or else the window's values in (time, value) order, for the engine to apply it to. */
  values?: number[];
  /** Rows whose first window this is. */
  rows: string;
}

/**
 * An unwrap range aggregation grouped `by (…)`, windowed in SQL: each row's label value
 * converted (unwrapValueSql.ts), assigned to every window (k·step, k·step + range] after
 * the origin it falls in, and per (group, window) either the function's value, where SQL
 * gives the engine's double, or the values in the engine's order for it to apply the function
 * (unwrapWindowFunctionSql.ts). The unwrapped label comes from the row's labels, or (`logfmt`)
 * from a plain logfmt line. Rows SQL cannot vouch for are flagged `unsure`: the engine then
 * answers the query. Undefined for a function SQL does not window.
 */
export function compileUnwrapWindows(
  log: LogQuery,
  scope: QueryScope,
  options: {
    originNs: bigint;
    stepNs: bigint;
    rangeNs: bigint;
    count: number;
    unwrapLabel: string;
    conversion: 'number' | 'duration';
    fn: RangeFunction;
    /** quantile_over_time's φ. */
    phi?: number;
    groupBy: string[];
    logfmt: boolean;
    /** Rows past which the query is refused: the rows read stop at one more, and each window reports how many it starts. */
    maxRows: number;
  },
): CompiledLogQuery | undefined {
  const params = new Params(scope);
  const value = unwrapWindowFunctionSql(options.fn, options.phi, (type, value) => params.add(type, value));
  if (value === undefined) return undefined;
  const plan: string[] = [];
  const origin = params.add('Int64', options.originNs.toString());
  const timeSql = `timestamp > fromUnixTimestamp64Nano(${origin}) AND timestamp <= fromUnixTimestamp64Nano(${params.add('Int64', scope.endNs.toString())})`;
  const { where, residual } = whereClause(log, scope, params, plan, timeSql, options.unwrapLabel);
  let labelValue: (name: string) => string;
  let unsure: string;
  let plainSql = '';
  if (options.logfmt) {
    const labels = [...new Set([...options.groupBy, options.unwrapLabel])];
    const { plain, values } = logfmtExtractionSql(labels, params);
    plainSql = `${plain} AS plain, `;
    labelValue = (name) => values[labels.indexOf(name)];
    unsure = 'NOT plain';
  } else {
    labelValue = (name) => windowGroupLabelSql(name, params);
    unsure = errorAttributeSql(params);
  }
  // The unwrapped label is no longer a label of the sample.
  const groups = options.groupBy.map((name) => (name === options.unwrapLabel ? "''" : labelValue(name)));
  const converted = unwrapValueSql('u_raw', options.conversion, (type, value) => params.add(type, value))!;
  const step = params.add('Int64', options.stepNs.toString());
  const range = params.add('Int64', options.rangeNs.toString());
  const first = `greatest(0, intDiv(u_t - ${range} + ${step} - 1, ${step}))`;
  const last = `least(${params.add('Int64', options.count - 1)}, intDiv(u_t + ${step} - 1, ${step}) - 1)`;
  // `rows` counts each row once, in its first window: their sum is the rows read, at most maxRows + 1.
  const inexact = 'exact' in value && value.exact ? ` OR NOT (${value.exact})` : '';
  const sql = `SELECT g, toString(k) AS k, toString(min(u_t)) AS first, max(u_unsure)${inexact} AS unsure,
  ${'value' in value ? `${value.value} AS value` : `${value.values} AS values`}, toString(countIf(u_i = 1)) AS rows
FROM (
  SELECT ${plainSql}[${groups.join(', ')}] AS g, toUnixTimestamp64Nano(timestamp) - ${origin} AS u_t, ${labelValue(options.unwrapLabel)} AS u_raw,
    (${unsure}) OR (u_raw != '' AND NOT ${converted.exact}) AS u_unsure, if(u_unsure, 0, ${converted.value}) AS u_v,
    if(${last} >= ${first}, arrayMap(i -> toInt64(i), range(toUInt64(${first}), toUInt64(${last} + 1))), [toInt64(-1)]) AS u_windows
  FROM ${scope.database}.logs
  WHERE ${where} AND (u_raw != '' OR u_unsure)
  LIMIT ${params.add('UInt64', options.maxRows + 1)}
)
ARRAY JOIN u_windows AS k, arrayEnumerate(u_windows) AS u_i
GROUP BY g, k`;
  plan.push(
    `unwrap ${options.unwrapLabel}${options.logfmt ? ' (logfmt, plain lines)' : ''}: converted, grouped by (${options.groupBy.join(', ')}) and windowed in SQL; ${options.fn} computed per window ${'value' in value ? 'in SQL' : "by the query engine over the window's values"}`,
  );
  return { sql, params: params.values, plan, residual };
}

/** Conditions of a selector alone, for /labels, /series, /index/*; on masked labels as the scope's reader sees them. */
function selectorWhere(selectors: LabelMatcher[][], scope: QueryScope, params: Params, level = levelSql): string {
  const conditions = [
    tenantSql(scope, params),
    `timestamp >= fromUnixTimestamp64Nano(${params.add('Int64', scope.startNs.toString())})`,
    `timestamp < fromUnixTimestamp64Nano(${params.add('Int64', scope.endNs.toString())})`,
  ];
  if (selectors.length > 0) {
    conditions.push(
      `(${selectors.map((matchers) => `(${matchers.map((m) => matcherSql(m, params, false, level, scope.masked)).join(' AND ') || '1'})`).join(' OR ')})`,
    );
  }
  return conditions.join(' AND ');
}

/**
 * Entries per value of one structured-metadata label (`pattern_id`) and time bucket, of the
 * streams a selector alone matches, on masked labels as the scope's reader sees them: for
 * readers who see masked values, whose line filters SQL cannot run (it holds stored lines).
 * A bucket i covers (origin + (i-1)·width, origin + i·width], as compileBuckets'.
 */
export function compileSelectorBuckets(
  scope: QueryScope,
  selector: LabelMatcher[],
  options: { originNs: bigint; widthNs: bigint; groupBy: string },
): CompiledSql {
  const params = new Params(scope);
  const origin = params.add('Int64', options.originNs.toString());
  const width = params.add('Int64', options.widthNs.toString());
  const matchers = selector.map((matcher) => matcherSql(matcher, params, false, levelSql, scope.masked));
  const sql = `SELECT [${labelSql(options.groupBy, params, true)}] AS g,
  toString(intDiv(toUnixTimestamp64Nano(timestamp) - ${origin} + ${width} - 1, ${width})) AS bucket,
  toString(count()) AS entries, '0' AS bytes
FROM ${scope.database}.logs
WHERE ${[
    tenantSql(scope, params),
    `timestamp > fromUnixTimestamp64Nano(${origin})`,
    `timestamp <= fromUnixTimestamp64Nano(${params.add('Int64', scope.endNs.toString())})`,
    ...matchers,
  ].join(' AND ')}
GROUP BY g, bucket`;
  return { sql, params: params.values };
}

/**
 * One stream selector's conditions within a scope, for statements outside the query engine (erasure requests).
 * Over `spans` (same tenant, service_name, resource attributes and timestamp columns) a span has no level.
 */
export function compileSelectorCondition(scope: QueryScope, selector: LabelMatcher[], table: 'logs' | 'spans' = 'logs'): CompiledSql {
  const params = new Params(scope);
  return { sql: selectorWhere([selector], scope, params, table === 'spans' ? "''" : levelSql), params: params.values };
}

/**
 * Names of stream labels seen in the scope: service_name, detected_level and resource attribute keys
 * (raw; the caller normalizes), and `__tenant_id__` for a multi-tenant query.
 */
export function compileLabelNames(scope: QueryScope, selectors: LabelMatcher[][]): CompiledSql {
  const params = new Params(scope);
  const where = selectorWhere(selectors, scope, params);
  const tenant = scope.tenants ? `, ['${tenantLabel}']` : '';
  const sql = `SELECT arrayJoin(arrayConcat(mapKeys(resource_attributes),
    if(service_name != '', ['service_name'], []), if(${levelSql} != '', ['detected_level'], [])${tenant})) AS name
FROM ${scope.database}.logs WHERE ${where}
GROUP BY name ORDER BY name`;
  return { sql, params: params.values };
}

export function compileLabelValues(scope: QueryScope, name: string, selectors: LabelMatcher[][], limit: number): CompiledSql {
  const params = new Params(scope);
  const value = labelSql(name, params, false);
  const where = selectorWhere(selectors, scope, params);
  const sql = `SELECT ${value} AS value FROM ${scope.database}.logs WHERE ${where} AND value != ''
GROUP BY value ORDER BY value LIMIT ${params.add('UInt64', limit)}`;
  return { sql, params: params.values };
}

/** Distinct streams (stream label sets) with their entry and byte counts; per tenant too for a multi-tenant query. */
export function compileStreams(scope: QueryScope, selectors: LabelMatcher[][], limit: number): CompiledSql {
  const params = new Params(scope);
  const where = selectorWhere(selectors, scope, params);
  const tenant = scope.tenants ? 'tenant AS tenant_id, ' : '';
  const sql = `SELECT ${tenant}service_name, ${levelSql} AS level, resource_attributes,
  toString(count()) AS entries, toString(sum(length(body))) AS bytes,
  toString(uniqExact(toStartOfHour(timestamp))) AS hours${
    // A masked reader's streams that differ only in a masked value are one: their hours are merged, not added.
    scope.masked ? ',\n  groupUniqArray(toString(toUnixTimestamp(toStartOfHour(timestamp)))) AS hour_list' : ''
  }
FROM ${scope.database}.logs WHERE ${where}
GROUP BY ${scope.tenants ? 'tenant_id, ' : ''}service_name, level, resource_attributes
ORDER BY ${scope.tenants ? 'tenant_id, ' : ''}service_name, level
LIMIT ${params.add('UInt64', limit)}`;
  return { sql, params: params.values };
}

export interface StreamRow {
  /** Read only for a multi-tenant query. */
  tenant_id?: string;
  service_name: string;
  level: string;
  resource_attributes: Record<string, string>;
  entries: string;
  bytes: string;
  hours: string;
  /** The hours themselves (Unix seconds), only for a masked reader (QueryScope.masked). */
  hour_list?: string[];
}

export interface StreamVolumeRow {
  service_name: string;
  level: string;
  resource_attributes: Record<string, string>;
  /** Step index from the scope's start: bucket i covers [start + i·step, start + (i+1)·step). */
  bucket: string;
  bytes: string;
}

/** Bytes of each stream per step, for /index/volume_range. */
export function compileStreamVolumes(scope: QueryScope, selectors: LabelMatcher[][], stepNs: bigint, limit: number): CompiledSql {
  const params = new Params(scope);
  const where = selectorWhere(selectors, scope, params);
  const start = params.add('Int64', scope.startNs.toString());
  const step = params.add('Int64', stepNs.toString());
  const sql = `SELECT service_name, ${levelSql} AS level, resource_attributes,
  toString(intDiv(toUnixTimestamp64Nano(timestamp) - ${start}, ${step})) AS bucket, toString(sum(length(body))) AS bytes
FROM ${scope.database}.logs WHERE ${where}
GROUP BY service_name, level, resource_attributes, bucket
LIMIT ${params.add('UInt64', limit)}`;
  return { sql, params: params.values };
}
