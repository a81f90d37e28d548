import { parseEnvoyDefault } from './envoyDefault.js';
import type { ParsedLine } from './parsedLine.js';

/** Longest word accepted before the bracketed time; a prefix is a tag (`ACCESS`), not a sentence. */
const maxPrefix = 32;

/**
 * An Envoy default-format line behind a one-word prefix, as Emissary writes
 * it (`ACCESS [2021-…] "GET …`): parsed as the Envoy default format, the
 * prefix kept in `mesh.log_prefix`, the time taken from the brackets.
 */
export function parsePrefixedEnvoy(line: string): ParsedLine | undefined {
  // The prefix is one word: the first space must open the bracket, so a line of text costs a scan of its first word.
  const open = line.indexOf(' ');
  if (open <= 0 || open > maxPrefix || line.charCodeAt(open + 1) !== 91 /* [ */) return undefined;
  const digit = line.charCodeAt(open + 2);
  if (digit < 48 || digit > 57) return undefined;
  const prefix = line.slice(0, open);
  const parsed = parseEnvoyDefault(line.slice(open + 1));
  if (parsed) parsed.attributes['mesh.log_prefix'] = prefix;
  return parsed;
}
