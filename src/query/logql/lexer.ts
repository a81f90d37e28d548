import { queryDurationMs } from './goDuration.js';
import { LogqlParseError } from './parseError.js';

export type TokenType = 'ident' | 'string' | 'number' | 'duration' | 'bytes' | 'op' | 'flag' | 'eof';

export interface Token {
  type: TokenType;
  /** The source text (for strings: the unquoted value). */
  text: string;
  /** Offset of the token's first character in the query. */
  pos: number;
  /** Parsed numeric value of number, duration (milliseconds) and bytes tokens. */
  value?: number;
}

// Longest first, so `|=` wins over `|`.
const operators = [
  '|=',
  '|~',
  '!=',
  '!~',
  '=~',
  '==',
  '>=',
  '<=',
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ',',
  '|',
  '=',
  '>',
  '<',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];

const byteUnits: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
};

/** Milliseconds of a duration written in a query (`1h30m`, `250ms`, `1d`: Prometheus' form or Go's), undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  return queryDurationMs(text);
}

/** Bytes of a humanized size (`10KB`, `1.5MiB`), undefined when it is not one. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)$/.exec(text.trim());
  if (!match) return undefined;
  const factor = byteUnits[match[2].toLowerCase()];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}

const goEscapes: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  '"': '"',
  "'": "'",
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

/** Splits a LogQL query into tokens; every token knows where it started. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (ch === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new LogqlParseError(source, start, 'a closing "', 'end of query');
        const c = source[i];
        if (c === '"') break;
        if (c === '\\') {
          const next = source[i + 1];
          if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(source.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(source.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          if (next === undefined || !(next in goEscapes))
            throw new LogqlParseError(source, i, 'a valid escape (\\n \\t \\\\ \\" …)', `\\${next ?? ''}`);
          value += goEscapes[next];
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      tokens.push({ type: 'string', text: value, pos: start });
      i++;
      continue;
    }
    if (ch === '`') {
      const end = source.indexOf('`', i + 1);
      if (end < 0) throw new LogqlParseError(source, start, 'a closing `', 'end of query');
      tokens.push({ type: 'string', text: source.slice(i + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)([a-zA-Zµ][a-zA-Zµ0-9.]*)?/.exec(source.slice(i))!;
      const text = match[0];
      i += text.length;
      if (match[1] === undefined) {
        tokens.push({ type: 'number', text, pos: start, value: Number(text) });
        continue;
      }
      const duration = parseDuration(text);
      if (duration !== undefined) {
        tokens.push({ type: 'duration', text, pos: start, value: duration });
        continue;
      }
      const bytes = parseBytes(text);
      if (bytes !== undefined) {
        tokens.push({ type: 'bytes', text, pos: start, value: bytes });
        continue;
      }
      throw new LogqlParseError(source, start, 'a number, duration (5m) or byte size (10KB)', text);
    }
    if (/[A-Za-z_]/.test(ch)) {
      const text = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))![0];
      tokens.push({ type: 'ident', text, pos: start });
      i += text.length;
      continue;
    }
    if (source.startsWith('--', i) && /[a-z]/.test(source[i + 2] ?? '')) {
      const text = /^--[a-z-]+/.exec(source.slice(i))![0];
      tokens.push({ type: 'flag', text, pos: start });
      i += text.length;
      continue;
    }
    const op = operators.find((candidate) => source.startsWith(candidate, i));
    if (!op) throw new LogqlParseError(source, start, 'a LogQL token', JSON.stringify(ch));
    tokens.push({ type: 'op', text: op, pos: start });
    i += op.length;
  }
  tokens.push({ type: 'eof', text: '', pos: source.length });
  return tokens;
}
