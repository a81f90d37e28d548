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
  const open = line.indexOf(' [');
  if (open <= 0 || open > maxPrefix) return undefined;
  const digit = line.charCodeAt(open + 2);
  if (digit < 48 || digit > 57) return undefined;
  const prefix = line.slice(0, open);
  if (prefix.includes(' ')) return undefined;
  const parsed = parseEnvoyDefault(line.slice(open + 1));
  if (parsed) parsed.attributes['mesh.log_prefix'] = prefix;
  return parsed;
}
