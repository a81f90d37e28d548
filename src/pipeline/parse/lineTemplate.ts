import { isUnset, newParsedLine, type ParsedLine } from './parsedLine.js';

/** Stores one field's text into a parsed line (split, renamed, typed as the field needs). */
export type FieldSetter = (value: string, out: ParsedLine) => void;

/**
 * A log format as alternating literals and fields: `literals[0] field[0]
 * literals[1] field[1] … literals[n]`. Format strings (Envoy `%CMD%`, nginx
 * `$var`) compile into one of these, so no format needs a regex of its own.
 */
export interface LineTemplate {
  format: string;
  mesh: string;
  literals: string[];
  setters: FieldSetter[];
}

/**
 * A parser for the template. A field ends at the first occurrence of the
 * first character of the literal after it (a quote, a space, a bracket), and
 * the whole literal must follow there: one indexOf per field, no backtracking.
 * Fields are located before any is stored, so a line of another format (the
 * next template tried) costs no allocation.
 */
export function compileTemplate(template: LineTemplate): (line: string) => ParsedLine | undefined {
  const { literals, setters, format, mesh } = template;
  for (let i = 1; i < literals.length - 1; i++) {
    if (literals[i].length === 0) throw new Error(`two fields without a separator between them in the ${format} format`);
  }
  const first = literals[0];
  const count = setters.length;
  // Start and end of each field in the line being parsed; parsing is synchronous, so one buffer serves every call.
  const bounds = new Int32Array(count * 2);
  return (raw) => {
    if (!raw.startsWith(first)) return undefined;
    let end = raw.length;
    while (end > 0 && (raw.charCodeAt(end - 1) === 10 || raw.charCodeAt(end - 1) === 13)) end--;
    let pos = first.length;
    for (let i = 0; i < count; i++) {
      const literal = literals[i + 1];
      let stop: number;
      if (i === count - 1 && literal.length === 0) {
        // An open-ended last field is one token: a longer line is another format.
        stop = raw.indexOf(' ', pos);
        if (stop >= 0 && stop < end) return undefined;
        stop = end;
      } else {
        stop = raw.indexOf(literal[0], pos);
        if (stop < 0 || stop + literal.length > end || !raw.startsWith(literal, stop)) return undefined;
      }
      bounds[2 * i] = pos;
      bounds[2 * i + 1] = stop;
      pos = stop + literal.length;
    }
    if (pos !== end) return undefined;
    const out = newParsedLine(format, mesh);
    for (let i = 0; i < count; i++) {
      const value = raw.slice(bounds[2 * i], bounds[2 * i + 1]);
      if (!isUnset(value)) setters[i](value, out);
    }
    return out;
  };
}
