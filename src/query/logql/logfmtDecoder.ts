/**
 * Loki's logfmt decoder (pkg/logql/log/logfmt/decode.go), byte for byte: keys end
 * at `=` or a space, a bare key has no value, a quoted value with escapes is
 * unquoted as a JSON string (\n, \t, \uXXXX…), and a syntax error skips the
 * rest of that key/value, recording `logfmt syntax error at pos N : …` with
 * Loki's 1-based byte position. The logfmt npm package differs on all of these.
 */
export interface LogfmtPair {
  key: string;
  /** undefined for a bare key (`buzz`) or an empty value (`a=`). */
  value: string | undefined;
}

export interface LogfmtResult {
  pairs: LogfmtPair[];
  /** The first syntax error: strict parsing stops there and reports it. */
  error?: string;
  /** Pairs read before the first syntax error: what strict parsing keeps. */
  beforeError: number;
}

const space = 0x20;
const equal = 0x3d;
const quote = 0x22;
const backslash = 0x5c;

function isSpace(c: number): boolean {
  return c <= space;
}

/** Go's unquoteBytes as Loki copied it: JSON escapes plus `\'`; a bad escape makes the value invalid. */
function unquote(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    switch (next) {
      case '"':
      case '\\':
      case '/':
      case "'":
        out += next;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const hex = text.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return undefined;
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}

export function decodeLogfmt(line: string): LogfmtResult {
  const bytes = Buffer.from(line, 'utf8');
  const pairs: LogfmtPair[] = [];
  let pos = 0;
  let error: string | undefined;
  let beforeError = -1;
  const fail = (message: string) => {
    if (error !== undefined) return;
    error = `logfmt syntax error at pos ${pos + 1} : ${message}`;
    beforeError = pairs.length;
  };
  const unexpected = (c: number) => fail(`unexpected '${String.fromCharCode(c)}'`);
  const skipValue = () => {
    while (pos < bytes.length && !isSpace(bytes[pos])) pos++;
  };
  const invalidKey = (key: Buffer) => key.toString('utf8').includes('\uFFFD');
  while (pos < bytes.length) {
    while (pos < bytes.length && isSpace(bytes[pos])) pos++;
    if (pos >= bytes.length) break;
    const start = pos;
    let key: Buffer | undefined;
    let ended = false;
    let failed = false;
    for (; pos < bytes.length; pos++) {
      const c = bytes[pos];
      if (c === equal) {
        if (pos > start) key = bytes.subarray(start, pos);
        if (key && invalidKey(key)) {
          fail('invalid key');
          failed = true;
        } else if (!key) {
          unexpected(c);
          failed = true;
        }
        break;
      }
      if (c === quote) {
        unexpected(c);
        failed = true;
        break;
      }
      if (isSpace(c)) {
        ended = true;
        break;
      }
    }
    if (failed) {
      skipValue();
      continue;
    }
    if (pos >= bytes.length || ended) {
      // A key alone.
      key = bytes.subarray(start, pos);
      if (invalidKey(key)) fail('invalid key');
      else pairs.push({ key: key.toString('utf8'), value: undefined });
      continue;
    }
    // At '=': the value.
    pos++;
    const keyText = key!.toString('utf8');
    if (pos >= bytes.length || isSpace(bytes[pos])) {
      pairs.push({ key: keyText, value: undefined });
      continue;
    }
    if (bytes[pos] === quote) {
      const open = pos;
      let escaped = false;
      let hasEscape = false;
      let close = -1;
      for (let p = pos + 1; p < bytes.length; p++) {
        const c = bytes[p];
        if (escaped) escaped = false;
        else if (c === backslash) hasEscape = escaped = true;
        else if (c === quote) {
          close = p;
          break;
        }
      }
      if (close < 0) {
        pos = bytes.length;
        fail('unterminated quoted value');
        continue;
      }
      pos = close + 1;
      const inner = bytes.subarray(open + 1, close);
      const value = hasEscape ? unquote(inner) : inner.toString('utf8');
      if (value === undefined) {
        fail('invalid quoted value');
        continue;
      }
      pairs.push({ key: keyText, value: value === '' ? undefined : value });
      continue;
    }
    const valueStart = pos;
    let bad = false;
    for (; pos < bytes.length && !isSpace(bytes[pos]); pos++) {
      if (bytes[pos] === equal || bytes[pos] === quote) {
        unexpected(bytes[pos]);
        bad = true;
        break;
      }
    }
    if (bad) {
      skipValue();
      continue;
    }
    pairs.push({ key: keyText, value: bytes.subarray(valueStart, pos).toString('utf8') });
  }
  return { pairs, error, beforeError: beforeError < 0 ? pairs.length : beforeError };
}

/** Loki's sanitizeLabelKey(key, true): trimmed, invalid characters as `_`, a leading digit prefixed with `_`. */
export function sanitizeLabelKey(key: string): string {
  const trimmed = key.trim();
  if (trimmed === '') return '';
  const prefixed = /^[0-9]/.test(trimmed) ? `_${trimmed}` : trimmed;
  return [...prefixed].map((c) => (/[A-Za-z0-9_]/.test(c) ? c : '_')).join('');
}
