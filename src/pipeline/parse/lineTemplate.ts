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
 */
export function compileTemplate(template: LineTemplate): (line: string) => ParsedLine | undefined {
  const { literals, setters, format, mesh } = template;
  for (let i = 1; i < literals.length - 1; i++) {
    if (literals[i].length === 0) throw new Error(`two fields without a separator between them in the ${format} format`);
  }
  const first = literals[0];
  const count = setters.length;
  return (raw) => {
    let end = raw.length;
    while (end > 0 && (raw.charCodeAt(end - 1) === 10 || raw.charCodeAt(end - 1) === 13)) end--;
    if (!raw.startsWith(first)) return undefined;
    const line = end === raw.length ? raw : raw.slice(0, end);
    let pos = first.length;
    const out = newParsedLine(format, mesh);
    for (let i = 0; i < count; i++) {
      const literal = literals[i + 1];
      let stop: number;
      if (i === count - 1 && literal.length === 0) {
        // An open-ended last field is one token: a longer line is another format.
        if (line.indexOf(' ', pos) >= 0) return undefined;
        stop = end;
      } else {
        stop = line.indexOf(literal[0], pos);
        if (stop < 0 || !line.startsWith(literal, stop)) return undefined;
      }
      const value = line.slice(pos, stop);
      if (!isUnset(value)) setters[i](value, out);
      pos = stop + literal.length;
    }
    return pos === end ? out : undefined;
  };
}
