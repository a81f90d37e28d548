import { RE2JS } from 're2js';

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
  // The pattern alone must parse: `a)|(b` must not escape the anchoring group.
  const plain = RE2JS.compile(pattern);
  regex = new GoRegex(options.anchored ? RE2JS.compile(`^(?s:${pattern})$`) : plain, pattern);
  if (cache.size >= cacheLimit) cache.clear();
  cache.set(key, regex);
  return regex;
}

/** Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}` in a replacement; `$$` is a dollar; unknown groups are empty. */
export function expandGoReplacement(template: string, match: GoMatch): string {
  return template.replace(/\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_whole, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === undefined) return '$';
    if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
    return match.groups?.[name] ?? '';
  });
}
