import { MeshlogError } from '../../errors.js';
import { expandGoReplacement, goRegex, type GoMatch, type GoRegex } from './goRegex.js';

/** What a template sees: the entry's labels, its line and its timestamp. */
export interface TemplateInput {
  labels: Map<string, string>;
  line: string;
  timestampNs: string;
}

type Piece = string | ((input: TemplateInput) => string);

/** Every match of a Go regex in `value` replaced by what `replace` makes of it (Go's ReplaceAllString), on RE2. */
function replaceAllMatches(value: string, regex: string, replace: (match: GoMatch) => string): string {
  let re: GoRegex;
  try {
    re = goRegex(regex, { anchored: false });
  } catch (error) {
    throw new MeshlogError('ML_QUERY_PARSE', `invalid regular expression ${JSON.stringify(regex)} in a template: ${(error as Error).message}`);
  }
  return re.replaceAll(value, replace);
}

/**
 * Template functions with Go's argument order; a piped value is the last
 * argument (so sprig's `{{ .a | trunc 3 }}` is `trunc 3 .a`).
 */
const functions: Record<string, (args: string[]) => string> = {
  ToUpper: ([v]) => v.toUpperCase(),
  ToLower: ([v]) => v.toLowerCase(),
  upper: ([v]) => v.toUpperCase(),
  lower: ([v]) => v.toLowerCase(),
  TrimSpace: ([v]) => v.trim(),
  trim: ([v]) => v.trim(),
  title: ([v]) => v.replace(/\b\w/g, (c) => c.toUpperCase()),
  default: ([fallback, v]) => (v === '' ? fallback ?? '' : v),
  replace: ([old, replacement, v]) => v.replaceAll(old ?? '', replacement ?? ''),
  trunc: ([n, v]) => (Number(n) >= 0 ? v.slice(0, Number(n)) : v.slice(Number(n))),
  substr: ([start, end, v]) => v.slice(Number(start), Number(end) < 0 ? undefined : Number(end)),
  repeat: ([count, v]) => v.repeat(Math.max(0, Number(count))),
  TrimPrefix: ([v, prefix]) => (v.startsWith(prefix) ? v.slice(prefix.length) : v),
  TrimSuffix: ([v, suffix]) => (suffix !== '' && v.endsWith(suffix) ? v.slice(0, -suffix.length) : v),
  regexReplaceAll: ([regex, v, replacement]) => replaceAllMatches(v, regex, (match) => expandGoReplacement(replacement, match)),
  regexReplaceAllLiteral: ([regex, v, replacement]) => replaceAllMatches(v, regex, () => replacement),
};

/**
 * The subset of Go's text/template that line_format and label_format use in
 * practice: `{{.label}}`, `{{__line__}}`, `{{__timestamp__}}`, string literals
 * and calls or pipes into the functions above.
 */
export function compileTemplate(template: string): (input: TemplateInput) => string {
  const pieces: Piece[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      pieces.push(rest);
      break;
    }
    if (open > 0) pieces.push(rest.slice(0, open));
    const close = rest.indexOf('}}', open);
    if (close < 0) throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: "{{" without "}}"`);
    pieces.push(compileAction(rest.slice(open + 2, close).replace(/^-\s*|\s*-$/g, '').trim(), template));
    rest = rest.slice(close + 2);
  }
  return (input) => pieces.map((piece) => (typeof piece === 'string' ? piece : piece(input))).join('');
}

function argument(text: string, template: string): (input: TemplateInput) => string {
  if (text.startsWith('"')) {
    let value: string;
    try {
      value = JSON.parse(text) as string;
    } catch {
      throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: invalid string literal ${text} (escape backslashes as \\\\)`);
    }
    return () => value;
  }
  if (text === '__line__') return (input) => input.line;
  if (text === '__timestamp__') return (input) => new Date(Number(BigInt(input.timestampNs) / 1_000_000n)).toISOString();
  if (/^\.[A-Za-z_][A-Za-z0-9_]*$/.test(text)) {
    const name = text.slice(1);
    return (input) => input.labels.get(name) ?? '';
  }
  if (/^-?\d+$/.test(text)) return () => text;
  throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: unsupported value ${JSON.stringify(text)}`);
}

function compileAction(action: string, template: string): (input: TemplateInput) => string {
  const stages = action.match(/(?:"(?:[^"\\]|\\.)*"|[^|])+/g)?.map((stage) => stage.trim()) ?? [];
  if (stages.length === 0) throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: empty action`);
  const words = (stage: string): string[] => stage.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  const [first, ...pipes] = stages;
  const firstWords = words(first);
  let source: (input: TemplateInput) => string;
  if (firstWords.length === 1) source = argument(firstWords[0], template);
  else source = call(firstWords[0], firstWords.slice(1, -1), argument(firstWords.at(-1)!, template), template);
  for (const pipe of pipes) {
    const [name, ...args] = words(pipe);
    source = call(name, args, source, template);
  }
  return source;
}

/** Go templates pipe the value in as the last argument. */
function call(name: string, args: string[], value: (input: TemplateInput) => string, template: string): (input: TemplateInput) => string {
  const fn = functions[name];
  if (!fn) throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: unsupported function ${JSON.stringify(name)}`);
  const fixed = args.map((arg) => argument(arg, template));
  // A regex written in the template is checked when the query is parsed, not at the first line.
  if (name.startsWith('regexReplace') && args[0]?.startsWith('"')) replaceAllMatches('', fixed[0]({ labels: new Map(), line: '', timestampNs: '0' }), () => '');
  return (input) => fn([...fixed.map((arg) => arg(input)), value(input)]);
}
