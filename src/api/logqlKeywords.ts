/**
 * LogQL's words, in one place for the two that must agree on them: the
 * parser (src/query/logql/parser.ts), which decides what a query means, and
 * the web editor's highlighter (web/src/components/logqlTokens.ts), which
 * colours what the parser will read as a keyword. Plain data with no
 * imports: the UI bundles this module as it is.
 */

/** Range functions over the lines themselves: they count lines or bytes. */
export const lineRangeFunctions = ['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'absent_over_time'] as const;

/** Range functions over a value read with `| unwrap <label>`. */
export const unwrapRangeFunctions = [
  'sum_over_time',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'first_over_time',
  'last_over_time',
  'rate_counter',
] as const;

/** Range functions: `fn(<log query> [range])`. */
export const rangeFunctions = [...lineRangeFunctions, ...unwrapRangeFunctions] as const;

/** Range functions that take `by`/`without` (Loki refuses it on the others). */
export const groupingRangeFunctions = [
  'avg_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'max_over_time',
  'min_over_time',
  'first_over_time',
  'last_over_time',
] as const;

/** Vector aggregations: `sum by (…) (<metric query>)`. */
export const vectorAggregations = [
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'topk',
  'bottomk',
  'stddev',
  'stdvar',
  'sort',
  'sort_desc',
] as const;

/** Stages of a log pipeline that start with a word after `|`: parsers, formatters, `drop`/`keep`, `unwrap`. */
export const pipelineStageKeywords = [
  'json',
  'logfmt',
  'regexp',
  'pattern',
  'unpack',
  'line_format',
  'label_format',
  'drop',
  'keep',
  'decolorize',
  'unwrap',
] as const;

/** Conversions an unwrapped label may be read through: `| unwrap duration(label)`. */
export const unwrapConversions = ['duration', 'duration_seconds', 'bytes'] as const;

/** Grouping of an aggregation: `by (…)`, `without (…)`. */
export const groupingKeywords = ['by', 'without'] as const;

/** Binary operators between vectors that work on sets of series. */
export const setOperators = ['and', 'or', 'unless'] as const;

/** What may follow a binary operator: `bool`, then `on(…)`/`ignoring(…)` and `group_left(…)`/`group_right(…)`. */
export const vectorMatchingKeywords = ['bool', 'on', 'ignoring', 'group_left', 'group_right'] as const;

/** The range's offset: `[5m] offset 1h`. */
export const offsetKeyword = 'offset';

/** Label matchers of a stream selector: `{app="x"}`. */
export const matchOperators = ['=', '!=', '=~', '!~'] as const;

/** Comparisons of label filters and between vectors. */
export const comparisonOperators = ['==', '!=', '>', '>=', '<', '<='] as const;

/** Line filters: `|= "text"`. */
export const lineFilterOperators = ['|=', '!=', '|~', '!~'] as const;
