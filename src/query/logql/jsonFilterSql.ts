import type { LabelFilter, LabelMatcher, Stage } from './ast.js';
import { matcherFn } from './pipeline.js';
import { isMeshLabel } from './meshLabels.js';

/**
 * `| json | <label matchers>` decided by ClickHouse on the lines where its verdict
 * provably is the engine's (pipeline.ts: JSON.parse, flattenJson), so that lines a
 * matcher rejects stay in ClickHouse. Such a *plain* line has no `\`, is valid
 * UTF-8 and a JSON object ClickHouse parses: JavaScript parses it too, to the same
 * strings (no escapes to read; ClickHouse refuses control characters in strings,
 * as JSON does; a byte-order mark it skips, so the line must start with `{`). A
 * label a matcher reads is known from the line's text when no attribute key holds
 * the name's last letter/digit run (none can then be named so):
 *
 * - a name of letters and digits comes only from a top-level key of exactly that
 *   text (any other key gives a name with `_`); when `"name"` occurs at most once
 *   in the line, there is no duplicate key, and the key's JSON type says the rest;
 * - a name with `_` that ends in letters or digits: every key that can give it
 *   (`a.b`, `a-b`, `{"a":{"b":…}}`) holds that last run, so a line with no such
 *   text lacks the label, and a line with it once, in the top-level key of the
 *   name's very text, has it from that key alone;
 * - `__error__` and `__error_details__`: JSON.parse succeeds, no matcher sets an
 *   error, and no key holds `error`, so they are unset.
 *
 * Values: a string (its text), a boolean (`true`/`false`), an integer of at most
 * 15 digits (ClickHouse writes a number back as the shortest text of its double,
 * which is JavaScript's String() there); null, arrays and objects give no label of
 * the key's name. Anything else leaves the line undecided: it is returned as before
 * and the engine's pipeline decides it (with its `__error__` labels). Decided lines
 * are returned only when they pass, and the engine still runs the parser and the
 * filters over them, for their labels.
 */
export interface JsonFilterSql {
  /** A `{pN:Type}` placeholder for a value. */
  param(type: string, value: unknown): string;
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

/** A JSON line SQL reads as JavaScript does (see above). */
export function plainJsonLineSql(sql: JsonFilterSql): string {
  // ClickHouse's JSON type is Null for invalid JSON, a control character in a string among it; a byte-order mark it skips, JavaScript does not.
  return [
    "position(body, '\\\\') = 0",
    'isValidUTF8(body)',
    `match(body, ${sql.param('String', '^[\\t\\n\\r ]*\\{')})`,
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
    // The line first (cheap); then no attribute key that could be named so (it keeps the name's last run): cheaper than normalizing keys.
    known: `(${fromKey} AND NOT arrayExists(k -> position(k, ${sql.param('String', lastRun)}) > 0, arrayConcat(mapKeys(resource_attributes), mapKeys(log_attributes))))`,
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
  // Number comparisons are left to extractedLabelPrefilter.ts, which drops the lines whose plain number fails more
  // cheaply: deciding them here too measured 1.2-1.6x slower (docs/benchmarks.md).
  if (filter.kind === 'compare') return undefined;
  if (filter.kind !== 'match') {
    const left = filterDecision(filter.left, sql);
    const right = filterDecision(filter.right, sql);
    if (!left || !right) return undefined;
    return { sure: `(${left.sure} AND ${right.sure})`, pass: `(${left.pass} ${filter.kind.toUpperCase()} ${right.pass})` };
  }
  const name = filter.matcher.name;
  if (errorLabels.has(name)) {
    const noErrorKey = `NOT match(body, ${sql.param('String', '"[^"]*error[^"]*"[\\t\\n\\r ]*:')}) AND NOT ${sql.errorAttribute()}`;
    return { sure: `(${noErrorKey})`, pass: matcherFn(filter.matcher)('') ? '1' : '0' };
  }
  if (!decidable(name)) return undefined;
  const label = labelSql(name, sql);
  const textKnown = `(${label.type} IN ('String', 'Bool') OR match(${label.text}, ${sql.param('String', integerText)}))`;
  return {
    sure: `(${label.known} AND (NOT ${label.present} OR ${textKnown}))`,
    pass: matcherSql(filter.matcher, `if(${label.present}, ${label.text}, '')`, sql),
  };
}

/** A matcher on a parsed label: `__error__` alone is not worth a decision (nearly every line passes). */
function matchesParsedLabel(filter: LabelFilter): boolean {
  if (filter.kind === 'match') return !errorLabels.has(filter.matcher.name);
  if (filter.kind === 'compare') return false;
  return matchesParsedLabel(filter.left) || matchesParsedLabel(filter.right);
}

/**
 * For a residual pipeline of one parameterless `| json` and label filters only: the
 * condition keeping the rows SQL does not decide and those it decides pass. Undefined
 * for any other pipeline, or a filter on a label SQL cannot read.
 */
export function jsonFilterCondition(residual: Stage[], sql: JsonFilterSql): string | undefined {
  const [parser, ...filters] = residual;
  if (parser?.kind !== 'json' || parser.params.length > 0 || filters.length === 0) return undefined;
  if (!filters.some((stage) => stage.kind === 'label_filter' && matchesParsedLabel(stage.filter))) return undefined;
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
