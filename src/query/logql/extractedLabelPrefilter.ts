import type { CompareOp, LabelFilter, Stage } from './ast.js';
import { float64Sql } from './float64Sql.js';
import { matcherFn } from './pipeline.js';

/**
 * SQL conditions every row must meet to pass a `| json` or `| logfmt` pipeline's
 * label filters (and to give an `unwrap` sample): necessary, never sufficient.
 * ClickHouse drops the rows that cannot pass, the query engine still runs every
 * stage over the rest, so results are the engine's by construction; only rows
 * are saved. A condition is written only where the engine's semantics prove it
 * (which key texts can produce a label name, when a JSON number surely fails a
 * comparison); anything unproven adds no condition.
 */
export interface PrefilterSql {
  /** A `{pN:Type}` placeholder for a value. */
  param(type: string, value: unknown): string;
  /** The label's value among the row's stream labels and structured metadata ('' when absent). */
  originalLabel(name: string): string;
}

/** Labels the engine sets or reads other than from a parser's keys: no key text proves anything about them. */
function provable(name: string): boolean {
  return (
    !name.startsWith('__') &&
    !name.endsWith('_extracted') &&
    !['level', 'detected_level', 'service_name', 'trace_id', 'span_id'].includes(name)
  );
}

/** The ASCII letters and digits of a label name in order: a parser's key text keeps them (other characters become `_`). */
function nameRuns(name: string): string[] {
  return name.split(/[^A-Za-z0-9]+/).filter((run) => run !== '');
}

/**
 * Rows in which a parser can produce label `name`. JSON: the line is an object and
 * every letter/digit run of the name appears in it (nested keys join with `_`),
 * unless an escape (`\u0073`) could spell it. logfmt (the `logfmt` package the engine uses): key
 * characters are the line's, except that `"` toggles quoting without being kept
 * and `\` takes the next character into the value, so those may interleave.
 */
function mayExtract(parser: 'json' | 'logfmt', name: string, sql: PrefilterSql): string {
  const original = `${sql.originalLabel(name)} != ''`;
  if (parser === 'json') {
    const runs = nameRuns(name).map((run) => `position(body, ${sql.param('String', run)}) > 0`);
    // JSON.parse gives an object only for a line whose first character after JSON whitespace is `{`.
    const object = `match(body, ${sql.param('String', '^[\\t\\n\\r ]*\\{')})`;
    return `(${original} OR (${object} AND (position(body, '\\\\') > 0${runs.length > 0 ? ` OR (${runs.join(' AND ')})` : ' OR 1'})))`;
  }
  const skipped = '(?:"|\\\\[\\s\\S])*';
  const pattern = name
    .split(/([^A-Za-z0-9]+)/)
    .filter((part) => part !== '')
    .map((part) => (/^[A-Za-z0-9]+$/.test(part) ? [...part].join(skipped) : '(?:[^A-Za-z0-9]|\\\\[\\s\\S])+'))
    .join(skipped);
  return `(${original} OR match(body, ${sql.param('String', pattern)}))`;
}

const negatedSql: Record<CompareOp, string> = { '==': '!=', '!=': '=', '>': '<=', '>=': '<', '<': '>=', '<=': '>' };

/**
 * JSON lines on which a plain-number comparison surely fails: an object with no
 * escapes, one top-level key spelled `"name"` and no other occurrence of that text
 * (no duplicate or nested key), holding a number (the engine's String() and
 * Number() of a parsed number give back the same double ClickHouse reads).
 */
function jsonNumberFails(name: string, op: CompareOp, value: number, sql: PrefilterSql): string | undefined {
  if (!/^[A-Za-z0-9]+$/.test(name) || !Number.isFinite(value)) return undefined;
  const key = sql.param('String', name);
  return `(${sql.originalLabel(name)} = '' AND position(body, '\\\\') = 0 AND countSubstrings(body, ${sql.param('String', `"${name}"`)}) = 1
    AND isValidJSON(body) AND JSONType(body) = 'Object' AND JSONType(body, ${key}) IN ('Int64', 'UInt64', 'Double')
    AND JSONExtractFloat(body, ${key}) ${negatedSql[op]} ${float64Sql(value, (type, value) => sql.param(type, value))})`;
}

/** A filter's necessary condition, or undefined where it may pass any row. */
function filterCondition(filter: LabelFilter, parser: 'json' | 'logfmt', sql: PrefilterSql): string | undefined {
  switch (filter.kind) {
    case 'and': {
      const parts = [filterCondition(filter.left, parser, sql), filterCondition(filter.right, parser, sql)].filter(
        (part) => part !== undefined,
      );
      return parts.length === 0 ? undefined : `(${parts.join(' AND ')})`;
    }
    case 'or': {
      const left = filterCondition(filter.left, parser, sql);
      const right = filterCondition(filter.right, parser, sql);
      return left === undefined || right === undefined ? undefined : `(${left} OR ${right})`;
    }
    case 'match':
      // An absent label reads as '': only a matcher refusing '' needs the label.
      if (!provable(filter.matcher.name) || matcherFn(filter.matcher)('')) return undefined;
      return mayExtract(parser, filter.matcher.name, sql);
    case 'compare': {
      // An absent label fails a comparison; a value that does not convert passes it (with __error__).
      if (!provable(filter.name)) return undefined;
      const present = mayExtract(parser, filter.name, sql);
      const fails = parser === 'json' && filter.unit === 'number' ? jsonNumberFails(filter.name, filter.op, filter.value, sql) : undefined;
      return fails === undefined ? present : `(${present} AND NOT ${fails})`;
    }
  }
}

/**
 * Conditions for the stages up to the first that is neither a line filter, a
 * label filter nor the pipeline's one parameterless json/logfmt parser (label
 * filters before the parser are the compiler's own business). With `unwrapLabel`,
 * set when the whole pipeline qualifies, a row must be able to carry that label:
 * the engine gives no sample for a line without it.
 */
export function extractedLabelPrefilter(stages: Stage[], sql: PrefilterSql, unwrapLabel?: string): string[] {
  const conditions: string[] = [];
  let parser: 'json' | 'logfmt' | undefined;
  for (const stage of stages) {
    if (stage.kind === 'line_filter') continue;
    if (stage.kind === 'label_filter') {
      const condition = parser && filterCondition(stage.filter, parser, sql);
      if (condition) conditions.push(condition);
      continue;
    }
    if ((stage.kind === 'json' || stage.kind === 'logfmt') && stage.params.length === 0 && parser === undefined) {
      parser = stage.kind;
      continue;
    }
    return conditions;
  }
  if (parser && unwrapLabel !== undefined && provable(unwrapLabel)) conditions.push(mayExtract(parser, unwrapLabel, sql));
  return conditions;
}
