import type { LabelFilter, LabelMatcher, Stage } from './ast.js';
import { labelNameOf } from './labelName.js';
import { parseBytes } from './lexer.js';
import { goParseDuration } from './goDuration.js';
import { goRegex } from './goRegex.js';
import { jsonPathValue } from './jsonPathValue.js';
import { compileTemplate, TemplateExecError } from './lineTemplate.js';
import { decodeLogfmt, sanitizeLabelKey } from './logfmtDecoder.js';
import { detectAndParse } from '../../pipeline/parse/detectFormat.js';

/** One log line on its way through a pipeline; stages may change its line and labels. */
export interface Entry {
  timestampNs: string;
  line: string;
  labels: Map<string, string>;
  /** Labels a stage added (parsers, label_format, error labels): Loki's "parsed" category under categorize-labels. */
  parsed?: Set<string>;
  /** Labels that are the row's structured metadata (log attributes, trace_id, span_id); the rest are stream labels. */
  metadata?: ReadonlySet<string>;
  /** Set once a parser stage has dropped what ingest-time parsing derived from the line. */
  ingestParsingForgotten?: boolean;
  /**
   * Labels ingest-time parsing derived from the line (the mesh columns): a parser's label of
   * the same name replaces one rather than taking `_extracted`, so that what a query's parser
   * yields does not depend on whether ingest-time parsing ran.
   */
  ingestDerived?: ReadonlySet<string>;
}

/** Labels an entry came with (stream labels and structured metadata), not set by a stage nor derived from the line at ingest. */
function baseNames(entry: Entry): Set<string> {
  const names = new Set<string>();
  for (const name of entry.labels.keys()) if (!entry.parsed?.has(name) && !entry.ingestDerived?.has(name)) names.add(name);
  return names;
}

/** meshlog's own record of ingest-time parsing: no line yields these. */
const ingestParsingLabels = [
  'meshlog_format',
  'meshlog_parse_status',
  'meshlog_parse_error',
  'meshlog_attributes_truncated',
  'meshlog_line_time',
];

/**
 * Before `| json` or `| logfmt` parses the line, the structured metadata that
 * ingest-time parsing derived from that same line is dropped (with meshlog's
 * bookkeeping labels): the query's parser yields those keys itself, under the
 * names it gives them, so the result is the same whether ingest parsing ran or
 * not. The ingest parser is run again to know which keys it derived; what the
 * sender sent as attributes (a value other than the line's) stays.
 */
function forgetIngestParsing(entry: Entry): void {
  if (entry.ingestParsingForgotten || !entry.metadata) return;
  entry.ingestParsingForgotten = true;
  const metadata = entry.metadata;
  const drop = (name: string) => metadata.has(name) && !entry.parsed?.has(name) && entry.labels.delete(name);
  if (metadata.has('meshlog_format')) {
    const derived = detectAndParse(entry.line, []);
    // A value other than the line's is the sender's own attribute (it won at ingest): it stays.
    for (const [key, value] of Object.entries(derived?.attributes ?? {}))
      if (entry.labels.get(labelNameOf(key)) === value) drop(labelNameOf(key));
  }
  for (const name of ingestParsingLabels) drop(name);
}

/** Sets a label a stage produced, remembering that it is a parsed label. */
export function setParsed(entry: Entry, name: string, value: string): void {
  entry.labels.set(name, value);
  (entry.parsed ??= new Set()).add(name);
}

/** A stage returns false to drop the entry. */
type StageFn = (entry: Entry) => boolean;

const errorLabel = '__error__';

/** Compiles the stages the SQL could not run into one function over entries. */
export function compilePipeline(stages: Stage[]): (entry: Entry) => boolean {
  const fns = stages.map(compileStage);
  return (entry) => {
    for (const fn of fns) if (!fn(entry)) return false;
    return true;
  };
}

export function labelValue(labels: Map<string, string>, name: string): string | undefined {
  // `level` names the detected level unless a parser extracted a label of that name.
  return labels.get(name) ?? (name === 'level' ? labels.get('detected_level') : undefined);
}

export function matcherFn(matcher: LabelMatcher): (value: string) => boolean {
  switch (matcher.op) {
    case '=':
      return (value) => value === matcher.value;
    case '!=':
      return (value) => value !== matcher.value;
    case '=~': {
      const re = goRegex(matcher.value, { anchored: true });
      return (value) => re.test(value);
    }
    case '!~': {
      const re = goRegex(matcher.value, { anchored: true });
      return (value) => !re.test(value);
    }
  }
}

/** A label's numeric value for a comparison: plain number, duration in seconds or bytes. */
export function convertValue(value: string, unit: 'number' | 'duration' | 'bytes'): number | undefined {
  if (unit === 'duration') {
    // Go's time.ParseDuration, as Loki's filter and unwrap read a label's value: no d/w/y, no spaces.
    const duration = goParseDuration(value);
    return 'seconds' in duration ? duration.seconds : undefined;
  }
  if (unit === 'bytes') return /^\s*\d+(?:\.\d+)?\s*$/.test(value) ? Number(value) : parseBytes(value);
  const number = value.trim() === '' ? NaN : Number(value);
  return Number.isNaN(number) ? undefined : number;
}

const comparisons = {
  '==': (a: number, b: number) => a === b,
  '!=': (a: number, b: number) => a !== b,
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
};

export function compileLabelFilter(filter: LabelFilter): StageFn {
  switch (filter.kind) {
    case 'and': {
      const left = compileLabelFilter(filter.left);
      const right = compileLabelFilter(filter.right);
      return (entry) => left(entry) && right(entry);
    }
    case 'or': {
      const left = compileLabelFilter(filter.left);
      const right = compileLabelFilter(filter.right);
      return (entry) => left(entry) || right(entry);
    }
    case 'match': {
      const test = matcherFn(filter.matcher);
      return (entry) => test(labelValue(entry.labels, filter.matcher.name) ?? '');
    }
    case 'compare': {
      const compare = comparisons[filter.op];
      return (entry) => {
        const raw = labelValue(entry.labels, filter.name);
        if (raw === undefined) return false;
        const value = convertValue(raw, filter.unit);
        // Like Loki: a value that does not convert keeps the line, marked with an error label.
        if (value === undefined) return setError(entry, 'LabelFilterErr', conversionError(raw, filter.unit));
        return compare(value, filter.value);
      };
    }
  }
}

/**
 * Adds an extracted label; a name already taken by a stream label or structured metadata
 * gets the `_extracted` suffix, as in Loki (BaseHas || HasInCategory(StructuredMetadata)).
 */
function setExtracted(entry: Entry, base: Set<string>, name: string, value: string): void {
  setParsed(entry, base.has(name) ? `${name}_extracted` : name, value);
}

/** Loki's json parser without parameters: nested keys joined with `_`, arrays skipped; each leaf with its JSON path. */
export function flattenJson(value: unknown, prefix: string, path: string[], out: [string, string, string[]][]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) return;
  if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value))
      flattenJson(child, prefix ? `${prefix}_${labelNameOf(key)}` : labelNameOf(key), [...path, key], out);
    return;
  }
  out.push([prefix, String(value), path]);
}

/** `a.b[0]`, `a["b c"]` → path segments. */
function jsonPath(expression: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const match of expression.matchAll(re)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(match[3]);
  }
  return segments;
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Marks a parser error, with Loki's __error_details__ when the parser says why. */
function setError(entry: Entry, error: string, details?: string): boolean {
  if (entry.labels.has(errorLabel)) return true;
  setParsed(entry, errorLabel, error);
  if (details !== undefined) setParsed(entry, '__error_details__', details);
  return true;
}

/** A template's output, or undefined with TemplateFormatErr set when it failed on this entry. */
function renderOrError(entry: Entry, render: () => string): string | undefined {
  try {
    return render();
  } catch (error) {
    if (!(error instanceof TemplateExecError)) throw error;
    setError(entry, 'TemplateFormatErr', error.message);
    return undefined;
  }
}

/** Loki's `__error_details__` for a label value a numeric, duration or bytes filter cannot convert (Go's strconv, time and go-humanize messages). */
function conversionError(raw: string, unit: 'number' | 'duration' | 'bytes'): string {
  if (unit === 'number') return `strconv.ParseFloat: parsing ${JSON.stringify(raw)}: invalid syntax`;
  if (unit === 'duration') {
    const duration = goParseDuration(raw);
    return 'error' in duration ? duration.error : `time: invalid duration ${JSON.stringify(raw)}`;
  }
  const [, amount, suffix] = /^([-+]?[\d.]*)(.*)$/.exec(raw.trim())!;
  return amount === '' || Number.isNaN(Number(amount))
    ? `strconv.ParseFloat: parsing ${JSON.stringify(amount)}: invalid syntax`
    : `unhandled size name: ${suffix.trim().toLowerCase()}`;
}

/** What Loki's JSON parser (buger/jsonparser ObjectEach) reports for a line that is not a JSON object. */
const malformedObject = "Value looks like object, but can't find closing '}' symbol";
/** Loki's unpack on a line not starting with `{`. */
const notAnObject = 'expecting json object(6), but it is not';

/** Loki's removeInvalidUtf: an invalid UTF-8 sequence in a logfmt value becomes a space. */
function validUtf8(value: string): string {
  return value.replaceAll('\uFFFD', ' ');
}

type PatternPart = { literal: string } | { capture: string };

/** A pattern expression (`<ip> - <_> "<method> <path>"`) as literals and captures; `<_>` captures nothing. */
export function patternParts(pattern: string): PatternPart[] {
  return pattern
    .split(/(<[A-Za-z_][A-Za-z0-9_]*>)/)
    .filter((part) => part !== '')
    .map((part) => {
      const capture = /^<([A-Za-z_][A-Za-z0-9_]*)>$/.exec(part);
      return capture ? { capture: capture[1] } : { literal: part };
    });
}

/**
 * Loki's pattern matcher, linear in the line: a leading literal must start
 * the line; each capture then ends at the first occurrence of the literal
 * after it (no backtracking), and when that literal is missing the capture
 * takes the rest of the line and matching stops. Returns the named captures.
 */
export function matchPattern(parts: PatternPart[], line: string): [string, string][] {
  const captures: [string, string][] = [];
  if (line === '' || parts.length === 0) return captures;
  let rest = line;
  let index = 0;
  const first = parts[0];
  if ('literal' in first) {
    if (!rest.startsWith(first.literal)) return captures;
    rest = rest.slice(first.literal.length);
    index = 1;
  }
  while (index < parts.length) {
    const part = parts[index];
    if (!('capture' in part)) return captures;
    const next = parts[index + 1];
    if (next === undefined || !('literal' in next)) {
      // Ending on a capture (consecutive captures are refused by the parser).
      if (part.capture !== '_') captures.push([part.capture, rest]);
      return captures;
    }
    const at = rest.indexOf(next.literal);
    if (at < 0) {
      if (part.capture !== '_') captures.push([part.capture, rest]);
      return captures;
    }
    if (part.capture !== '_') captures.push([part.capture, rest.slice(0, at)]);
    rest = rest.slice(at + next.literal.length);
    index += 2;
  }
  return captures;
}

function compileStage(stage: Stage): StageFn {
  switch (stage.kind) {
    case 'line_filter': {
      const tests = stage.values.map((value) => {
        if (stage.op === '|=' || stage.op === '!=') return (line: string) => line.includes(value);
        const re = goRegex(value, { anchored: false });
        return (line: string) => re.test(line);
      });
      const negated = stage.op === '!=' || stage.op === '!~';
      return (entry) => tests.some((test) => test(entry.line)) !== negated;
    }
    case 'label_filter':
      return compileLabelFilter(stage.filter);
    case 'json': {
      const paths = stage.params.map((param) => ({ label: param.label, path: jsonPath(param.expression) }));
      return (entry) => {
        const object = parseJsonObject(entry.line);
        forgetIngestParsing(entry);
        if (!object) return setError(entry, 'JSONParserErr', malformedObject);
        const original = baseNames(entry);
        if (paths.length === 0) {
          const pairs: [string, string, string[]][] = [];
          flattenJson(object, '', [], pairs);
          for (const [name, value] of pairs) setExtracted(entry, original, name, value);
          return true;
        }
        for (const { label, path } of paths) {
          const value = jsonPathValue(entry.line, path);
          if (value === undefined) continue;
          // As Loki's JSONExpressionParser: a label the line came with (stream or structured metadata) is kept, the value takes `_extracted`.
          setParsed(entry, original.has(label) ? `${label}_extracted` : label, value);
        }
        return true;
      };
    }
    case 'logfmt': {
      const wanted = stage.params;
      return (entry) => {
        forgetIngestParsing(entry);
        const decoded = decodeLogfmt(entry.line);
        // Strict parsing stops at the first syntax error; otherwise a bad pair is skipped.
        const pairs = stage.strict ? decoded.pairs.slice(0, decoded.beforeError) : decoded.pairs;
        const base = baseNames(entry);
        if (wanted.length === 0) {
          const seen = new Set<string>();
          for (const { key, value } of pairs) {
            const name = sanitizeLabelKey(key);
            if (name === '' || (value === undefined && !stage.keepEmpty)) continue;
            const label = base.has(name) ? `${name}_extracted` : name;
            // The first occurrence of a key wins, as in Loki.
            if (seen.has(label)) continue;
            seen.add(label);
            setParsed(entry, label, validUtf8(value ?? ''));
          }
        } else {
          for (const { label, expression } of wanted) {
            const pair = pairs.find((candidate) => candidate.key === expression);
            // Loki sets every requested label, empty when the line lacks the key; a name the line came with takes `_extracted`.
            if (pair || !base.has(label)) setParsed(entry, base.has(label) ? `${label}_extracted` : label, validUtf8(pair?.value ?? ''));
          }
        }
        if (stage.strict && decoded.error !== undefined) setError(entry, 'LogfmtParserErr', decoded.error);
        return true;
      };
    }
    case 'unpack':
      return (entry) => {
        const object = parseJsonObject(entry.line);
        forgetIngestParsing(entry);
        if (!object) return setError(entry, 'JSONParserErr', entry.line.startsWith('{') ? malformedObject : notAnObject);
        // As Loki: labels come out only of a packed line (one with `_entry`); any other JSON stays as it is.
        if (typeof object._entry !== 'string') return true;
        const original = baseNames(entry);
        for (const [key, value] of Object.entries(object)) {
          if (typeof value !== 'string') continue;
          if (key === '_entry') entry.line = value;
          else setExtracted(entry, original, labelNameOf(key), value);
        }
        return true;
      };
    case 'regexp': {
      const re = goRegex(stage.expression, { anchored: false });
      return (entry) => {
        const groups = re.exec(entry.line)?.groups;
        if (!groups) return true;
        const original = baseNames(entry);
        for (const [name, value] of Object.entries(groups)) if (value !== undefined) setExtracted(entry, original, name, value);
        return true;
      };
    }
    case 'pattern': {
      const parts = patternParts(stage.expression);
      return (entry) => {
        const captures = matchPattern(parts, entry.line);
        if (captures.length === 0) return true;
        const original = baseNames(entry);
        for (const [name, value] of captures) setExtracted(entry, original, name, value);
        return true;
      };
    }
    case 'line_format': {
      const render = compileTemplate(stage.template);
      return (entry) => {
        // As Loki: a template failing on a line keeps the line, marked TemplateFormatErr.
        const line = renderOrError(entry, () => render({ labels: entry.labels, line: entry.line, timestampNs: entry.timestampNs }));
        if (line !== undefined) entry.line = line;
        return true;
      };
    }
    case 'label_format': {
      const items = stage.items.map((item) => ({
        ...item,
        render: item.template === undefined ? undefined : compileTemplate(item.template, 'label'),
      }));
      return (entry) => {
        const before = new Map(entry.labels);
        for (const item of items) {
          if (item.render) {
            const render = item.render;
            const value = renderOrError(entry, () => render({ labels: before, line: entry.line, timestampNs: entry.timestampNs }));
            if (value !== undefined) setParsed(entry, item.label, value);
          } else {
            const value = before.get(item.source!);
            entry.labels.delete(item.source!);
            if (value !== undefined) setParsed(entry, item.label, value);
          }
        }
        return true;
      };
    }
    case 'drop':
    case 'keep': {
      const items = stage.items.map((item) => ({ name: item.name, test: item.matcher ? matcherFn(item.matcher) : undefined }));
      const keep = stage.kind === 'keep';
      return (entry) => {
        for (const [name, value] of [...entry.labels]) {
          // Like Loki, keep never removes the error labels (only an explicit drop does).
          if (keep && name.startsWith('__error')) continue;
          const listed = items.some((item) => item.name === name && (item.test === undefined || item.test(value)));
          if (listed !== keep) entry.labels.delete(name);
        }
        return true;
      };
    }
    case 'decolorize':
      return (entry) => {
        // ANSI SGR and other CSI escape sequences.
        entry.line = entry.line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
        return true;
      };
  }
}
