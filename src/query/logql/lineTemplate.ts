import { MeshlogError } from '../../errors.js';
import { decimalOp } from './templateDecimal.js';
import { expandGoReplacement, goRegex, type GoMatch, type GoRegex } from './goRegex.js';
import { timeFunctionArity, timeFunctions } from './templateTime.js';

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
    throw new MeshlogError(
      'ML_QUERY_PARSE',
      `invalid regular expression ${JSON.stringify(regex)} in a template: ${(error as Error).message}`,
    );
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
  default: ([fallback, v]) => (v === '' ? (fallback ?? '') : v),
  replace: ([old, replacement, v]) => v.replaceAll(old ?? '', replacement ?? ''),
  trunc: ([n, v]) => (Number(n) >= 0 ? v.slice(0, Number(n)) : v.slice(Number(n))),
  substr: ([start, end, v]) => v.slice(Number(start), Number(end) < 0 ? undefined : Number(end)),
  repeat: ([count, v]) => v.repeat(Math.max(0, Number(count))),
  TrimPrefix: ([v, prefix]) => (v.startsWith(prefix) ? v.slice(prefix.length) : v),
  TrimSuffix: ([v, suffix]) => (suffix !== '' && v.endsWith(suffix) ? v.slice(0, -suffix.length) : v),
  regexReplaceAll: ([regex, v, replacement]) => replaceAllMatches(v, regex, (match) => expandGoReplacement(replacement, match)),
  regexReplaceAllLiteral: ([regex, v, replacement]) => replaceAllMatches(v, regex, () => replacement),
  // The rest of Loki's line_format functions (pkg/logql/log/fmt.go functionMap and its sprig subset).
  Replace: ([v, old, replacement, n]) => goReplace(v, old, replacement, Number(n)),
  Trim: ([v, cutset]) => trimCutset(v, cutset, true, true),
  TrimLeft: ([v, cutset]) => trimCutset(v, cutset, true, false),
  TrimRight: ([v, cutset]) => trimCutset(v, cutset, false, true),
  trimAll: ([cutset, v]) => trimCutset(v, cutset, true, true),
  trimPrefix: ([prefix, v]) => (v.startsWith(prefix) ? v.slice(prefix.length) : v),
  trimSuffix: ([suffix, v]) => (suffix !== '' && v.endsWith(suffix) ? v.slice(0, -suffix.length) : v),
  contains: ([part, v]) => String(v.includes(part)),
  hasPrefix: ([prefix, v]) => String(v.startsWith(prefix)),
  hasSuffix: ([suffix, v]) => String(v.endsWith(suffix)),
  indent: ([n, v]) => indent(Number(n), v),
  nindent: ([n, v]) => `\n${indent(Number(n), v)}`,
  count: ([regex, v]) => String(countMatches(v, regex)),
  urlencode: ([v]) =>
    encodeURIComponent(v)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replaceAll('%20', '+'),
  urldecode: ([v]) => decodeURIComponent(v.replaceAll('+', ' ')),
  b64enc: ([v]) => Buffer.from(v, 'utf8').toString('base64'),
  b64dec: ([v]) => Buffer.from(v, 'base64').toString('utf8'),
  alignLeft: ([n, v]) => align(Number(n), v, 'left'),
  alignRight: ([n, v]) => align(Number(n), v, 'right'),
  int: ([v]) => String(toInt(v)),
  float64: ([v]) => String(toFloat(v)),
  add: (args) => String(args.reduce((sum, a) => sum + toInt(a), 0)),
  sub: ([a, b]) => String(toInt(a) - toInt(b)),
  mul: (args) => String(args.reduce((product, a) => product * toInt(a), 1)),
  div: ([a, b]) => String(Math.trunc(toInt(a) / toInt(b))),
  mod: ([a, b]) => String(toInt(a) % toInt(b)),
  addf: (args) => String(args.reduce((sum, a) => decimalOp('+', sum, toFloat(a)), 0)),
  subf: ([a, ...rest]) => String(rest.reduce((difference, b) => decimalOp('-', difference, toFloat(b)), toFloat(a))),
  mulf: (args) => String(args.reduce((product, a) => decimalOp('*', product, toFloat(a)), 1)),
  divf: ([a, ...rest]) => String(rest.reduce((quotient, b) => decimalOp('/', quotient, toFloat(b)), toFloat(a))),
  max: (args) => String(Math.max(...args.map(toInt))),
  min: (args) => String(Math.min(...args.map(toInt))),
  maxf: (args) => String(Math.max(...args.map(toFloat))),
  minf: (args) => String(Math.min(...args.map(toFloat))),
  ceil: ([v]) => String(Math.ceil(toFloat(v))),
  floor: ([v]) => String(Math.floor(toFloat(v))),
  round: (args) => String(sprigRound(args)),
  ...timeFunctions,
};

/** The argument count of every function that takes a fixed number (Go checks it when the template runs). */
const arity: Record<string, number> = {
  ...Object.fromEntries(
    [
      'ToUpper',
      'ToLower',
      'upper',
      'lower',
      'TrimSpace',
      'trim',
      'title',
      'urlencode',
      'urldecode',
      'b64enc',
      'b64dec',
      'int',
      'float64',
      'ceil',
      'floor',
    ].map((name) => [name, 1]),
  ),
  ...Object.fromEntries(
    [
      'default',
      'trunc',
      'repeat',
      'TrimPrefix',
      'TrimSuffix',
      'Trim',
      'TrimLeft',
      'TrimRight',
      'trimAll',
      'trimPrefix',
      'trimSuffix',
      'contains',
      'hasPrefix',
      'hasSuffix',
      'indent',
      'nindent',
      'count',
      'alignLeft',
      'alignRight',
      'sub',
      'div',
      'mod',
    ].map((name) => [name, 2]),
  ),
  ...Object.fromEntries(['replace', 'substr', 'regexReplaceAll', 'regexReplaceAllLiteral'].map((name) => [name, 3])),
  Replace: 4,
  ...timeFunctionArity,
};

/** A template that failed while it ran on a line: Loki's TemplateFormatErr, with Go's text/template message. */
export class TemplateExecError extends Error {}

/** Go's strings.Replace: n < 0 replaces all. */
function goReplace(v: string, old: string, replacement: string, n: number): string {
  if (n < 0 || Number.isNaN(n)) return v.replaceAll(old, replacement);
  let out = v;
  let from = 0;
  for (let i = 0; i < n; i++) {
    const at = out.indexOf(old, from);
    if (at < 0) break;
    out = out.slice(0, at) + replacement + out.slice(at + old.length);
    from = at + replacement.length + (old === '' ? 1 : 0);
  }
  return out;
}

/** Go's strings.Trim/TrimLeft/TrimRight: every leading/trailing character that is in the cutset. */
function trimCutset(v: string, cutset: string, left: boolean, right: boolean): string {
  const chars = [...v];
  const cut = new Set(cutset);
  let start = 0;
  let end = chars.length;
  while (left && start < end && cut.has(chars[start])) start++;
  while (right && end > start && cut.has(chars[end - 1])) end--;
  return chars.slice(start, end).join('');
}

function indent(n: number, v: string): string {
  const pad = ' '.repeat(Math.max(0, n));
  return pad + v.replaceAll('\n', `\n${pad}`);
}

/** Loki's alignLeft/alignRight: cut or padded with spaces to exactly n characters. */
function align(n: number, v: string, side: 'left' | 'right'): string {
  const chars = [...v];
  if (n < 0 || Number.isNaN(n)) return v;
  if (chars.length >= n) return side === 'left' ? chars.slice(0, n).join('') : chars.slice(chars.length - n).join('');
  return side === 'left' ? v + ' '.repeat(n - chars.length) : ' '.repeat(n - chars.length) + v;
}

function countMatches(v: string, regex: string): number {
  let count = 0;
  replaceAllMatches(v, regex, () => {
    count++;
    return '';
  });
  return count;
}

/** sprig's toInt (spf13/cast): a number, else 0; a float is cut toward zero. */
function toInt(v: string): number {
  const n = Number(v.trim());
  return v.trim() === '' || Number.isNaN(n) ? 0 : Math.trunc(n);
}

function toFloat(v: string): number {
  const n = Number(v.trim());
  return v.trim() === '' || Number.isNaN(n) ? 0 : n;
}

/** sprig's round(value, precision, roundOn = .5). */
function sprigRound([value, precision, roundOn]: string[]): number {
  const places = toInt(precision ?? '0');
  const on = roundOn === undefined ? 0.5 : toFloat(roundOn);
  const pow = 10 ** places;
  const digit = pow * toFloat(value);
  const fraction = digit % 1;
  const whole = digit - fraction;
  return (Math.abs(fraction) >= on ? whole + Math.sign(digit) : whole) / pow;
}

/**
 * The subset of Go's text/template that line_format and label_format use in
 * practice: `{{.label}}`, `{{__line__}}`, `{{__timestamp__}}`, string literals
 * and calls or pipes into the functions above.
 */
export function compileTemplate(template: string, name = 'line'): (input: TemplateInput) => string {
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
    const action = rest.slice(open + 2, close);
    const at = { name, offset: template.length - rest.length + open + 2 + (action.length - action.replace(/^-?\s*/, '').length) };
    pieces.push(compileAction(action.replace(/^-\s*|\s*-$/g, '').trim(), template, at));
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
      throw new MeshlogError(
        'ML_QUERY_PARSE',
        `template ${JSON.stringify(template)}: invalid string literal ${text} (escape backslashes as \\\\)`,
      );
    }
    return () => value;
  }
  if (text === '__line__') return (input) => input.line;
  if (text === '__timestamp__') return (input) => new Date(Number(BigInt(input.timestampNs) / 1_000_000n)).toISOString();
  if (/^\.[A-Za-z_][A-Za-z0-9_]*$/.test(text)) {
    const name = text.slice(1);
    return (input) => input.labels.get(name) ?? '';
  }
  if (/^-?\d+(?:\.\d+)?$/.test(text)) return () => text;
  throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: unsupported value ${JSON.stringify(text)}`);
}

/** Where an action starts in its template, for Go's error position (`template: label:1:2: …`). */
interface ActionPosition {
  name: string;
  offset: number;
}

function compileAction(action: string, template: string, at: ActionPosition): (input: TemplateInput) => string {
  const stages = action.match(/(?:"(?:[^"\\]|\\.)*"|[^|])+/g)?.map((stage) => stage.trim()) ?? [];
  if (stages.length === 0) throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: empty action`);
  const words = (stage: string): string[] => stage.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  const [first, ...pipes] = stages;
  const firstWords = words(first);
  let source: (input: TemplateInput) => string;
  if (firstWords.length === 1) source = argument(firstWords[0], template);
  else source = call(firstWords[0], firstWords.slice(1, -1), argument(firstWords.at(-1)!, template), template, at);
  let searchFrom = first.length;
  for (const pipe of pipes) {
    const [name, ...args] = words(pipe);
    searchFrom = action.indexOf(name, searchFrom);
    source = call(name, args, source, template, { name: at.name, offset: at.offset + searchFrom });
  }
  return source;
}

/** Go templates pipe the value in as the last argument. */
function call(
  name: string,
  args: string[],
  value: (input: TemplateInput) => string,
  template: string,
  at: ActionPosition,
): (input: TemplateInput) => string {
  const fn = functions[name];
  if (!fn) throw new MeshlogError('ML_QUERY_PARSE', `template ${JSON.stringify(template)}: unsupported function ${JSON.stringify(name)}`);
  const fixed = args.map((arg) => argument(arg, template));
  // A regex written in the template is checked when the query is parsed, not at the first line.
  if (name.startsWith('regexReplace') && args[0]?.startsWith('"'))
    replaceAllMatches('', fixed[0]({ labels: new Map(), line: '', timestampNs: '0' }), () => '');
  const where = `template: ${at.name}:1:${at.offset}: executing ${JSON.stringify(at.name)} at <${name}>`;
  const want = arity[name];
  const got = args.length + 1;
  return (input) => {
    if (want !== undefined && got !== want)
      throw new TemplateExecError(`${where}: wrong number of args for ${name}: want ${want} got ${got}`);
    try {
      return fn([...fixed.map((arg) => arg(input)), value(input)]);
    } catch (error) {
      if (error instanceof TemplateExecError || error instanceof MeshlogError) throw error;
      throw new TemplateExecError(`${where}: error calling ${name}: ${(error as Error).message}`);
    }
  };
}
