import logfmt from 'logfmt';
import type { LabelFilter, LabelMatcher, Stage } from './ast.js';
import { labelNameOf } from './compiler.js';
import { parseBytes, parseDuration } from './lexer.js';
import { goRegex } from './goRegex.js';
import { compileTemplate } from './lineTemplate.js';

/** One log line on its way through a pipeline; stages may change its line and labels. */
export interface Entry {
  timestampNs: string;
  line: string;
  labels: Map<string, string>;
  /** Labels a stage added (parsers, label_format, error labels): Loki's "parsed" category under categorize-labels. */
  parsed?: Set<string>;
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
    const ms = parseDuration(value.trim());
    return ms === undefined ? undefined : ms / 1000;
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
        if (value === undefined) {
          if (!entry.labels.has(errorLabel)) setParsed(entry, errorLabel, 'LabelFilterErr');
          return true;
        }
        return compare(value, filter.value);
      };
    }
  }
}

/** Adds an extracted label; a name already taken by a stream label gets the `_extracted` suffix, as in Loki. */
function setExtracted(entry: Entry, original: Map<string, string>, name: string, value: string): void {
  setParsed(entry, original.has(name) ? `${name}_extracted` : name, value);
}

/** Loki's json parser without parameters: nested keys joined with `_`, arrays skipped; each leaf with its JSON path. */
export function flattenJson(value: unknown, prefix: string, path: string[], out: [string, string, string[]][]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) return;
  if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) flattenJson(child, prefix ? `${prefix}_${labelNameOf(key)}` : labelNameOf(key), [...path, key], out);
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

function setError(entry: Entry, error: string): boolean {
  if (!entry.labels.has(errorLabel)) setParsed(entry, errorLabel, error);
  return true;
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
        if (!object) return setError(entry, 'JSONParserErr');
        const original = new Map(entry.labels);
        if (paths.length === 0) {
          const pairs: [string, string, string[]][] = [];
          flattenJson(object, '', [], pairs);
          for (const [name, value] of pairs) setExtracted(entry, original, name, value);
          return true;
        }
        for (const { label, path } of paths) {
          let value: unknown = object;
          for (const segment of path) value = value === null || typeof value !== 'object' ? undefined : (value as Record<string | number, unknown>)[segment];
          if (value === undefined || value === null) continue;
          setParsed(entry, label, typeof value === 'object' ? JSON.stringify(value) : String(value));
        }
        return true;
      };
    }
    case 'logfmt': {
      const wanted = stage.params;
      return (entry) => {
        const parsed = logfmt.parse(entry.line) as Record<string, string | boolean | null>;
        const original = new Map(entry.labels);
        const text = (value: string | boolean | null) => (value === null ? '' : String(value));
        if (wanted.length === 0) {
          for (const [key, value] of Object.entries(parsed)) setExtracted(entry, original, labelNameOf(key), text(value));
        } else {
          for (const { label, expression } of wanted) if (expression in parsed) setParsed(entry, label, text(parsed[expression]));
        }
        return true;
      };
    }
    case 'unpack':
      return (entry) => {
        const object = parseJsonObject(entry.line);
        if (!object) return setError(entry, 'JSONParserErr');
        const original = new Map(entry.labels);
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
        const original = new Map(entry.labels);
        for (const [name, value] of Object.entries(groups)) if (value !== undefined) setExtracted(entry, original, name, value);
        return true;
      };
    }
    case 'pattern': {
      const parts = patternParts(stage.expression);
      return (entry) => {
        const captures = matchPattern(parts, entry.line);
        if (captures.length === 0) return true;
        const original = new Map(entry.labels);
        for (const [name, value] of captures) setExtracted(entry, original, name, value);
        return true;
      };
    }
    case 'line_format': {
      const render = compileTemplate(stage.template);
      return (entry) => {
        entry.line = render({ labels: entry.labels, line: entry.line, timestampNs: entry.timestampNs });
        return true;
      };
    }
    case 'label_format': {
      const items = stage.items.map((item) => ({ ...item, render: item.template === undefined ? undefined : compileTemplate(item.template) }));
      return (entry) => {
        const before = new Map(entry.labels);
        for (const item of items) {
          if (item.render) setParsed(entry, item.label, item.render({ labels: before, line: entry.line, timestampNs: entry.timestampNs }));
          else {
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
