import logfmt from 'logfmt';
import { newParsedLine, type ParsedLine } from './parsedLine.js';

/** Keys applications use for the level and the time; they feed severity and timestamp instead of attributes. */
const levelKeys = new Set(['level', 'lvl', 'severity', 'severity_text', 'log.level', 'levelname', 'loglevel', '@l']);
const timeKeys = new Set(['time', 'timestamp', 'ts', '@timestamp', '@t']);
/** The message is the body already; storing it again as an attribute would double the row. */
const messageKeys = new Set(['msg', 'message', '@m']);

const maxAttributes = 128;
const maxDepth = 4;

/** Puts one key/value of a JSON or logfmt body where it belongs: level, time, or a (flattened) attribute. */
function place(out: ParsedLine, key: string, value: unknown, depth: number, budget: { left: number }): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'object' && !Array.isArray(value) && depth < maxDepth) {
    for (const child in value as Record<string, unknown>)
      place(out, `${key}.${child}`, (value as Record<string, unknown>)[child], depth + 1, budget);
    return;
  }
  if (depth === 0) {
    if (levelKeys.has(key) && (typeof value === 'string' || typeof value === 'number')) {
      out.level = String(value);
      return;
    }
    if (timeKeys.has(key) && (typeof value === 'string' || typeof value === 'number')) {
      out.time = String(value);
      return;
    }
    if (messageKeys.has(key)) return;
  }
  if (budget.left-- <= 0) {
    out.attributes['meshlog.attributes_truncated'] = 'true';
    return;
  }
  out.attributes[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** An application's JSON log object: nested objects flattened to dotted keys (`{"http":{"status":500}}` → http.status). */
export function parseJsonBody(object: Record<string, unknown>): ParsedLine {
  const out = newParsedLine('json', '');
  const budget = { left: maxAttributes };
  for (const key in object) place(out, key, object[key], 0, budget);
  return out;
}

/**
 * A logfmt line (`level=info msg="order placed" order_id=42`), split by the
 * logfmt library. Only lines where every token is key=value count: a
 * sentence with one `=` in it is not logfmt.
 */
export function parseLogfmtBody(line: string): ParsedLine | undefined {
  const first = line.charCodeAt(0);
  if (!((first >= 97 && first <= 122) || (first >= 65 && first <= 90) || first === 95)) return undefined;
  const equals = line.indexOf('=');
  if (equals < 0) return undefined;
  const space = line.indexOf(' ');
  if (space >= 0 && space < equals) return undefined;
  const fields = logfmt.parse(line);
  const out = newParsedLine('logfmt', '');
  const budget = { left: maxAttributes };
  let count = 0;
  for (const key in fields) {
    if (fields[key] === true && !line.includes(`${key}=`)) return undefined;
    place(out, key, fields[key], 0, budget);
    count++;
  }
  return count >= 2 ? out : undefined;
}
