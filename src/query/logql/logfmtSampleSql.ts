import type { LabelFilter, RangeAggregation, Stage } from './ast.js';
import { isMeshLabel } from './meshLabels.js';

/**
 * `| logfmt | unwrap …` samples whose labels ClickHouse extracts itself, for the
 * lines on which its extraction provably equals the engine's logfmt decoder
 * (logfmtDecoder.ts): printable-ASCII lines of `key`, `key=`, `key=value` and
 * `key="quoted value"` pairs split by spaces, keys of letters, digits and `_`
 * only, no escapes. On such a line the decoder reads exactly those pairs, with
 * no syntax error, sanitizes no key, and a label's value is the first non-empty
 * value of the key of its name; a regex aligned on whole pairs finds the same.
 * Any other line (and any line that came with a label of a name the query reads,
 * which would turn the parsed one into `<name>_extracted`) is returned whole and
 * runs through the engine's pipeline as before. The engine still converts the
 * unwrapped value and aggregates, so samples and results are its own.
 */

const key = '[A-Za-z0-9_]+';
/** An unquoted value: printable ASCII other than space, `"` and `=` (which the decoder refuses there). */
const bare = '[!#-<>-~]+';
/** A quoted value without escapes: printable ASCII and space, other than `"` and `\`. */
const quoted = (min: '*' | '+') => `"[ !#-\\[\\]-~]${min}"`;
const pair = `${key}(?:=(?:${bare}|${quoted('*')})?)?`;

/** Lines on which the decoder and the extraction below agree. */
export const plainLogfmtLinePattern = `^ *${pair}(?: +${pair})* *$`;

/** The first non-empty value of `name` on a plain line, quotes included; '' when none. Whole pairs are skipped, so text inside a quoted value never matches. */
export function logfmtValuePattern(name: string): string {
  return `^ *(?:${pair} +)*?${name}=(${quoted('+')}|${bare})(?: |$)`;
}

/**
 * Names whose label a plain line gives only from the key of that name, and that no
 * stage but the parser sets: not the detected level, service_name, trace or span id,
 * mesh labels (kept from the row when the line lacks them), error or `_extracted` labels.
 */
function extractable(name: string): boolean {
  return (
    /^[A-Za-z][A-Za-z0-9_]*$/.test(name) &&
    !name.endsWith('_extracted') &&
    !isMeshLabel(name) &&
    !['level', 'detected_level', 'service_name', 'trace_id', 'span_id', 'pattern_id'].includes(name)
  );
}

/** A post-unwrap filter that reads only `__error__`, which on a plain line only the unwrap conversion can set. */
export function readsOnlyError(filter: LabelFilter): boolean {
  if (filter.kind === 'match') return filter.matcher.name === '__error__';
  if (filter.kind === 'compare') return false;
  return readsOnlyError(filter.left) && readsOnlyError(filter.right);
}

/**
 * The labels a range aggregation reads from its `| logfmt` (grouping labels, then the
 * unwrapped one), when SQL can extract them: an unwrap grouped `by (…)`, filtered after
 * the unwrap on `__error__` only, and the plain parser as the only stage SQL leaves.
 */
export function logfmtSampleLabels(node: RangeAggregation, residual: Stage[]): string[] | undefined {
  const unwrap = node.unwrap;
  if (!unwrap || !node.grouping || node.grouping.without) return undefined;
  if (!unwrap.postFilters.every(readsOnlyError)) return undefined;
  if (residual.length !== 1) return undefined;
  const [parser] = residual;
  if (parser.kind !== 'logfmt' || parser.params.length > 0 || parser.strict || parser.keepEmpty) return undefined;
  const labels = [...new Set([...node.grouping.labels, unwrap.label])];
  return labels.every(extractable) ? labels : undefined;
}
