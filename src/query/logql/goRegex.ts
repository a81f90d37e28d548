import { RE2JS } from 're2js';
import { checkTemplateLength } from './templateLimits.js';

/**
 * LogQL regexes are Go (RE2) syntax, and in Loki they run on RE2: matching
 * takes time linear in the input, whatever the pattern. Every regex that comes
 * from a query runs here on re2js (a pure-JS port of RE2), never on
 * JavaScript's backtracking RegExp, where `(a+)+b` over 30 `a`s takes minutes.
 * ClickHouse runs the same patterns on its own RE2.
 */

/** A match: `[0]` the whole match, `[n]` group n, `groups` the named ones, `index` where it starts. */
export type GoMatch = RegExpMatchArray & { index: number };

export class GoRegex {
  constructor(
    private readonly re: RE2JS,
    /** The pattern as the query wrote it. */
    readonly source: string,
  ) {}

  /** Whether the pattern matches anywhere in `input` (the whole of it when compiled anchored). */
  test(input: string): boolean {
    return this.re.test(input);
  }

  /** The leftmost match, or null. */
  exec(input: string): GoMatch | null {
    return this.re.exec(input) as GoMatch | null;
  }

  /**
   * Go's Regexp.ReplaceAllStringFunc: every non-overlapping match replaced by
   * what `replace` makes of it; an empty match right after a match is not
   * replaced (JavaScript's replace would replace it too).
   */
  replaceAll(input: string, replace: (match: GoMatch) => string): string {
    let out = '';
    let copied = 0;
    let lastMatchEnd = -1;
    for (const match of this.re.matchAll(input) as IterableIterator<GoMatch>) {
      const start = match.index;
      const end = start + match[0].length;
      if (end > lastMatchEnd || start === 0) {
        out += input.slice(copied, start) + replace(match);
        copied = end;
      }
      lastMatchEnd = end;
    }
    return out + input.slice(copied);
  }
}

/**
 * Largest regex (in RE2 instructions, about one per literal character, class
 * or repeat, with counted repeats multiplied out) a query may hold. RE2 runs
 * any regex in linear time, but compiling one takes time in its size: re2js
 * needs about 10 µs an instruction, and `b{1000}` is 7 characters but a
 * thousand instructions. Go's RE2 allows about 1.4 M (seconds of compiling
 * here); 20,000 keeps one compile under about 0.2 s.
 */
export const maxRegexSize = 20_000;

/** An upper estimate of the RE2 program size of `pattern`, read without compiling it. */
export function estimateRegexSize(pattern: string): number {
  interface Frame {
    total: number;
    last: number;
    alternatives: number;
  }
  const stack: Frame[] = [];
  let cur: Frame = { total: 0, last: 0, alternatives: 0 };
  const atom = (size: number) => {
    cur.total += size;
    cur.last = size;
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const literal = (end < 0 ? pattern.length : end) - (i + 2);
        cur.total += literal;
        cur.last = 1;
        i = end < 0 ? pattern.length : end + 2;
        continue;
      }
      if ((n === 'p' || n === 'P' || n === 'x') && pattern[i + 2] === '{') {
        const end = pattern.indexOf('}', i);
        i = end < 0 ? pattern.length : end + 1;
      } else i += 2;
      atom(1);
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') {
        if (pattern[j] === '\\') j++;
        else if (pattern[j] === '[' && pattern[j + 1] === ':') {
          const end = pattern.indexOf(':]', j + 2);
          j = end < 0 ? pattern.length : end + 1;
        }
        j++;
      }
      i = j + 1;
      atom(1);
      continue;
    }
    if (c === '(') {
      stack.push(cur);
      cur = { total: 0, last: 0, alternatives: 0 };
      i++;
      if (pattern[i] === '?') {
        let j = i;
        while (j < pattern.length && pattern[j] !== ':' && pattern[j] !== ')' && pattern[j] !== '>') j++;
        i = pattern[j] === ')' ? j : j + 1;
      }
      continue;
    }
    if (c === ')') {
      const group = cur.total + cur.alternatives + 1;
      cur = stack.pop() ?? { total: 0, last: 0, alternatives: 0 };
      atom(group);
      i++;
      continue;
    }
    if (c === '|') {
      cur.alternatives += cur.total + 1;
      cur.total = 0;
      cur.last = 0;
      i++;
      continue;
    }
    if (c === '{') {
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
      if (repeat) {
        const min = Number(repeat[1]);
        const max = repeat[3] ? Number(repeat[3]) : repeat[2] !== undefined ? min + 1 : min;
        const times = Math.max(max, 1);
        cur.total += cur.last * (times - 1) + times;
        cur.last *= times;
        i += repeat[0].length;
        continue;
      }
    }
    if (c === '*' || c === '+' || c === '?') {
      cur.total += 1;
      i++;
      continue;
    }
    atom(1);
    i++;
  }
  let size = cur.total + cur.alternatives;
  for (const frame of stack) size += frame.total + frame.alternatives;
  return size;
}

const cache = new Map<string, GoRegex>();
const cacheLimit = 2000;

/**
 * A LogQL regex compiled on RE2. Go syntax as written: `(?P<name>…)`,
 * `(?i)`, `\pL`, `[[:alpha:]]`; lookarounds and backreferences are refused, as
 * RE2 refuses them. `anchored` matches the whole value as Prometheus and Loki
 * label matchers do (`^(?s:…)$`: `.` matches newlines there); unanchored
 * patterns (line filters, `regexp`, template functions) find a match anywhere.
 * Throws RE2's syntax error for an invalid pattern.
 */
export function goRegex(pattern: string, options: { anchored: boolean }): GoRegex {
  const key = `${options.anchored ? 'a' : 'u'}${pattern}`;
  let regex = cache.get(key);
  if (regex) return regex;
  const size = estimateRegexSize(pattern);
  if (size > maxRegexSize) throw new Error(`regular expression too large: about ${size} RE2 instructions, at most ${maxRegexSize}`);
  // The pattern alone must parse: `a)|(b` must not escape the anchoring group.
  const plain = RE2JS.compile(pattern);
  regex = new GoRegex(options.anchored ? RE2JS.compile(`^(?s:${pattern})$`) : plain, pattern);
  if (cache.size >= cacheLimit) cache.clear();
  cache.set(key, regex);
  return regex;
}

/** Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}` in a replacement; `$$` is a dollar; unknown groups are empty. */
export function expandGoReplacement(template: string, match: GoMatch): string {
  const reference = /\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;
  const part = (braced?: string, bare?: string): string => {
    const name = braced ?? bare;
    if (name === undefined) return '$';
    if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
    return match.groups?.[name] ?? '';
  };
  // `$0` a thousand times over a long match would be gigabytes: measured before it is built.
  let length = template.length;
  for (const found of template.matchAll(reference)) length += part(found[1], found[2]).length - found[0].length;
  checkTemplateLength(length);
  return template.replace(reference, (_whole, braced?: string, bare?: string) => part(braced, bare));
}
