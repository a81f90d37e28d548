/** The LogQL syntax tree: what the parser produces and the compiler and evaluator consume. */

export type MatchOp = '=' | '!=' | '=~' | '!~';
export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

export interface LineFilter {
  kind: 'line_filter';
  op: '|=' | '!=' | '|~' | '!~';
  /** Alternatives chained with `or`: the line passes when any of them matches (for the negated ops, none). */
  values: string[];
}

export type LabelFilter =
  | { kind: 'and' | 'or'; left: LabelFilter; right: LabelFilter }
  | { kind: 'match'; matcher: LabelMatcher }
  /** Numeric comparison; durations are in seconds, bytes in bytes. */
  | { kind: 'compare'; name: string; op: CompareOp; value: number; unit: 'number' | 'duration' | 'bytes' };

export interface ExtractionParam {
  label: string;
  /** JSON path (`a.b[0]`) or logfmt key; the label name itself when omitted. */
  expression: string;
}

export type Stage =
  | LineFilter
  | { kind: 'json'; params: ExtractionParam[] }
  /** --strict stops at the first syntax error and marks LogfmtParserErr; --keep-empty keeps keys without a value. */
  | { kind: 'logfmt'; params: ExtractionParam[]; strict?: boolean; keepEmpty?: boolean }
  | { kind: 'unpack' }
  | { kind: 'regexp' | 'pattern'; expression: string }
  | { kind: 'label_filter'; filter: LabelFilter }
  | { kind: 'line_format'; template: string }
  | { kind: 'label_format'; items: { label: string; source?: string; template?: string }[] }
  | { kind: 'drop' | 'keep'; items: { name: string; matcher?: LabelMatcher }[] }
  | { kind: 'decolorize' };

export interface LogQuery {
  kind: 'log';
  selector: LabelMatcher[];
  stages: Stage[];
}

export interface Unwrap {
  label: string;
  conversion: 'number' | 'duration' | 'bytes';
  /** Label filters after the unwrap (typically `__error__=""`). */
  postFilters: LabelFilter[];
}

export type RangeFunction =
  | 'count_over_time'
  | 'rate'
  | 'bytes_over_time'
  | 'bytes_rate'
  | 'absent_over_time'
  | 'sum_over_time'
  | 'avg_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time'
  | 'first_over_time'
  | 'last_over_time'
  | 'rate_counter';

export interface Grouping {
  without: boolean;
  labels: string[];
}

export interface RangeAggregation {
  kind: 'range';
  fn: RangeFunction;
  log: LogQuery;
  rangeMs: number;
  offsetMs: number;
  unwrap?: Unwrap;
  /** quantile_over_time's φ. */
  param?: number;
  grouping?: Grouping;
}

export type VectorOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'topk' | 'bottomk' | 'stddev' | 'stdvar' | 'sort' | 'sort_desc';

export interface VectorAggregation {
  kind: 'vector_agg';
  op: VectorOp;
  grouping?: Grouping;
  /** k of topk/bottomk. */
  param?: number;
  expr: MetricExpr;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | CompareOp | 'and' | 'or' | 'unless';

export interface VectorMatching {
  on: boolean;
  labels: string[];
  /** `group_left(...)` (many-to-one) / `group_right(...)` (one-to-many); one-to-one without either. */
  card: 'one-to-one' | 'many-to-one' | 'one-to-many';
  /** Labels of the "one" side copied onto the result. */
  include: string[];
}

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  /** `bool` modifier on comparisons: 0/1 instead of filtering. */
  returnBool: boolean;
  /** `on(...)` / `ignoring(...)` vector matching. */
  matching?: VectorMatching;
  left: MetricExpr;
  right: MetricExpr;
}

/** `label_replace(v, dst, replacement, src, regex)`. */
export interface LabelReplace {
  kind: 'label_replace';
  expr: MetricExpr;
  dst: string;
  replacement: string;
  src: string;
  regex: string;
}

export type MetricExpr =
  LabelReplace | RangeAggregation | VectorAggregation | BinaryExpr | { kind: 'number'; value: number } | { kind: 'vector'; value: number };

export type Expr = LogQuery | MetricExpr;
