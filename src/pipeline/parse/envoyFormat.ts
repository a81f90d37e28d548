import { envoyCommandSetter } from './envoyCommands.js';
import { compileTemplate, type FieldSetter } from './lineTemplate.js';
import type { LineParser } from './parsedLine.js';

const command = /%([A-Z][A-Z0-9_]*(?:\([^)]*\))?(?::\d+)?)%/g;

/**
 * Compiles an Envoy access log format string (`text_format`, as in Envoy,
 * Istio `accessLogFormat`, Kuma, App Mesh) into a line parser: any format a
 * user configures is parsed without a regex written for it.
 * Throws when the format cannot be parsed back (two commands with nothing between them).
 */
export function compileEnvoyFormat(format: string, name: string, mesh: string): LineParser {
  const text = format.replace(/(\\n|\n)$/, '');
  const literals: string[] = [];
  const setters: FieldSetter[] = [];
  let last = 0;
  for (const match of text.matchAll(command)) {
    literals.push(text.slice(last, match.index));
    setters.push(envoyCommandSetter(match[1]));
    last = match.index + match[0].length;
  }
  literals.push(text.slice(last));
  if (setters.length === 0) throw new Error(`the ${name} format has no %COMMAND% in it`);
  return compileTemplate({ format: name, mesh, literals, setters });
}
