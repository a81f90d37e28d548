import type { CompareOp, LabelFilter, LabelMatcher, Stage } from './ast.js';
import { float64Sql } from './float64Sql.js';
import { matcherFn } from './pipeline.js';
import { isMeshLabel } from './meshLabels.js';
import { unwrapValueSql } from './unwrapValueSql.js';

/**
 * `| json | <label filters>` decided by ClickHouse on the lines where its verdict
 * provably is the engine's (pipeline.ts: JSON.parse, flattenJson, convertValue), so
 * that a log query's LIMIT holds in SQL. Such a *plain* line has no `\`, no control
 * character, is valid UTF-8 and a JSON object ClickHouse parses: JavaScript parses
 * it too, to the same strings (no escapes to read). A label of the filters, on a
 * row that came without it, is then known from the line's text alone:
 *
 * - a name of letters and digits comes only from a top-level key of exactly that
 *   text (any other key gives a name with `_`); when `"name"` occurs at most once
 *   in the line, there is no duplicate key, and JSONHas says whether it is there;
 * - a name with `_` that ends in letters or digits: every key that can give it
 *   (`a.b`, `a-b`, `{"a":{"b":…}}`) holds that last run, so a line with no such
 *   text lacks the label, and a line with it once, in the top-level key of the
 *   name's very text, has it from that key alone;
 * - `__error__` and `__error_details__`: JSON.parse succeeds, the filters convert
 *   every value they read (below), and no key holds `error`, so they are unset.
 *
 * Values: a string (its text), a boolean (`true`/`false`), an integer of at most
 * 15 digits (String() of its double is its text); null, arrays and objects give no
 * label of the key's name. Comparisons read a string or number that unwrapValueSql
 * converts exactly; `bytes()` and any other value leave the line undecided.
 * Undecided lines are returned as before and the engine's pipeline decides
 * (with its `__error__` labels); decided ones are returned only when they pass,
 * and the engine still runs the parser over them for their labels.
 */
export interface JsonFilterSql {
  /** A `{pN:Type}` placeholder for a value. */
  param(type: string, value: unknown): string;
  /** The label's value among the row's stream labels and structured metadata ('' when absent). */
  originalLabel(name: string): string;
  /** A row attribute that could be named `__error__`. */
  errorAttribute(): string;
}

/** Whether SQL decides a row, and its verdict there. */
interface Decision {
  sure: string;
  pass: string;
}

const errorLabels = new Set(['__error__', '__error_details__']);

/** Names a stage other than the parser may set, or that read another label: never decided. */
function decidable(name: string): boolean {
  return (
    /^[A-Za-z_][A-Za-z0-9_]*[A-Za-z0-9]$|^[A-Za-z]$/.test(name) &&
    !name.startsWith('__') &&
    !name.endsWith('_extracted') &&
    !isMeshLabel(name) &&
    !['level', 'detected_level', 'service_name', 'trace_id', 'span_id', 'pattern_id'].includes(name)
  );
}

const sqlOp: Record<CompareOp, string> = { '==': '=', '!=': '!=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' };

/** A JSON line SQL reads as JavaScript does (see above). */
export function plainJsonLineSql(sql: JsonFilterSql): string {
  return [
    "position(body, '\\\\') = 0",
    `NOT match(body, ${sql.param('String', '[\\x00-\\x1f]')})`,
    'isValidUTF8(body)',
    `match(body, ${sql.param('String', '^[\\t\\n\\r ]*\\{')})`,
    'isValidJSON(body)',
    "JSONType(body) = 'Object'",
  ].join(' AND ');
}

/** What SQL knows of one label on a plain line: whether it knows, whether it is set, and its text. */
function labelSql(name: string, sql: JsonFilterSql): { known: string; present: string; type: string; text: string } {
  const key = sql.param('String', name);
  const lastRun = /[A-Za-z0-9]+$/.exec(name)![0];
  const fromKey =
    lastRun === name
      ? `countSubstrings(body, ${sql.param('String', `"${name}"`)}) <= 1`
      : `(countSubstrings(body, ${sql.param('String', lastRun)}) = 0 OR (countSubstrings(body, ${sql.param('String', lastRun)}) = 1 AND JSONHas(body, ${key})))`;
  const type = `JSONType(body, ${key})`;
  return {
    known: `(${sql.originalLabel(name)} = '' AND ${fromKey})`,
    // A missing key's type is Null.
    present: `(${type} IN ('String', 'Bool', 'Int64', 'UInt64', 'Double'))`,
    type,
    // ClickHouse writes a number back as the shortest text that reads as its double, a boolean as `true`/`false`.
    text: `if(${type} = 'String', JSONExtractString(body, ${key}), JSONExtractRaw(body, ${key}))`,
  };
}

/** An integer String() writes back as its text: no -0, no leading zero, at most 15 digits. */
const integerText = '^(?:0|-?[1-9][0-9]{0,14})$';

function matcherSql(matcher: LabelMatcher, value: string, sql: JsonFilterSql): string {
  switch (matcher.op) {
    case '=':
      return `${value} = ${sql.param('String', matcher.value)}`;
    case '!=':
      return `${value} != ${sql.param('String', matcher.value)}`;
    case '=~':
      return `match(${value}, ${sql.param('String', `^(?:${matcher.value})$`)})`;
    case '!~':
      return `NOT match(${value}, ${sql.param('String', `^(?:${matcher.value})$`)})`;
  }
}

function filterDecision(filter: LabelFilter, sql: JsonFilterSql): Decision | undefined {
  if (filter.kind !== 'match' && filter.kind !== 'compare') {
    const left = filterDecision(filter.left, sql);
    const right = filterDecision(filter.right, sql);
    if (!left || !right) return undefined;
    return { sure: `(${left.sure} AND ${right.sure})`, pass: `(${left.pass} ${filter.kind.toUpperCase()} ${right.pass})` };
  }
  const name = filter.kind === 'match' ? filter.matcher.name : filter.name;
  if (filter.kind === 'match' && errorLabels.has(name)) {
    const noErrorKey = `NOT match(body, ${sql.param('String', '"[^"]*error[^"]*"[\\t\\n\\r ]*:')}) AND NOT ${sql.errorAttribute()}`;
    return { sure: `(${noErrorKey})`, pass: matcherFn(filter.matcher)('') ? '1' : '0' };
  }
  if (!decidable(name)) return undefined;
  const label = labelSql(name, sql);
  if (filter.kind !== 'compare') {
    const textKnown = `(${label.type} IN ('String', 'Bool') OR match(${label.text}, ${sql.param('String', integerText)}))`;
    return {
      sure: `(${label.known} AND (NOT ${label.present} OR ${textKnown}))`,
      pass: matcherSql(filter.matcher, `if(${label.present}, ${label.text}, '')`, sql),
    };
  }
  if (filter.unit === 'bytes' || !Number.isFinite(filter.value)) return undefined;
  // A number is read from its JSON text, a string from its content: the text the engine converts.
  const converted = unwrapValueSql(label.text, filter.unit, (type, value) => sql.param(type, value))!;
  return {
    sure: `(${label.known} AND (NOT ${label.present} OR (${label.type} != 'Bool' AND ${converted.exact})))`,
    pass: `(${label.present} AND ${converted.value} ${sqlOp[filter.op]} ${float64Sql(filter.value, (type, value) => sql.param(type, value))})`,
  };
}

/**
 * For a residual pipeline of one parameterless `| json` and label filters only: the
 * condition keeping the rows SQL does not decide and those it decides pass. Undefined
 * for any other pipeline, or a filter on a label SQL cannot read.
 */
export function jsonFilterCondition(residual: Stage[], sql: JsonFilterSql): string | undefined {
  const [parser, ...filters] = residual;
  if (parser?.kind !== 'json' || parser.params.length > 0 || filters.length === 0) return undefined;
  const decisions: Decision[] = [];
  for (const stage of filters) {
    if (stage.kind !== 'label_filter') return undefined;
    const decision = filterDecision(stage.filter, sql);
    if (!decision) return undefined;
    decisions.push(decision);
  }
  const sure = [plainJsonLineSql(sql), ...decisions.map((decision) => decision.sure)].join(' AND ');
  return `(NOT (${sure}) OR (${decisions.map((decision) => decision.pass).join(' AND ')}))`;
}
