import { MeshlogError } from '../../errors.js';
import { decimalOp } from './templateDecimal.js';
import { expandGoReplacement, goRegex, type GoMatch, type GoRegex } from './goRegex.js';
import { timeFunctionArity, timeFunctions } from './templateTime.js';
import { goTemplatePosition, parseGoTemplate, type Command, type Operand, type Pipeline, type TemplateNode } from './goTemplateParse.js';
import { fromJson, GoArgumentTypeError, GoTime, goTruth, goTypeName, printGo, type GoValue } from './goTemplateValue.js';
import { goSprintf } from './goPrintf.js';
import { checkTemplateLength, templateOutputLimit, templateStepLimit } from './templateLimits.js';

/** What a template sees: the entry's labels, its line and its timestamp. */
export interface TemplateInput {
  labels: Map<string, string>;
  line: string;
  timestampNs: string;
}

/** A template that failed while it ran on a line: Loki's TemplateFormatErr, with Go's text/template message. */
export class TemplateExecError extends Error {}

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
  let added = 0;
  return re.replaceAll(value, (match) => {
    const replacement = replace(match);
    added += replacement.length;
    checkTemplateLength(value.length + added);
    return replacement;
  });
}

/**
 * Template functions on strings, with Go's argument order; a piped value is
 * the last argument (so sprig's `{{ .a | trunc 3 }}` is `trunc 3 .a`). Their
 * arguments arrive as Go prints them.
 */
const functions: Record<string, (args: string[]) => string> = {
  ToUpper: ([v]) => v.toUpperCase(),
  ToLower: ([v]) => v.toLowerCase(),
  upper: ([v]) => v.toUpperCase(),
  lower: ([v]) => v.toLowerCase(),
  TrimSpace: ([v]) => v.trim(),
  trim: ([v]) => v.trim(),
  title: ([v]) => v.replace(/\b\w/g, (c) => c.toUpperCase()),
  replace: ([old, replacement, v]) => replaceEvery(v, old ?? '', replacement ?? ''),
  trunc: ([n, v]) => (Number(n) >= 0 ? v.slice(0, Number(n)) : v.slice(Number(n))),
  substr: ([start, end, v]) => v.slice(Number(start), Number(end) < 0 ? undefined : Number(end)),
  repeat: ([count, v]) => {
    const times = Math.max(0, Number(count));
    checkTemplateLength(times * v.length);
    return v.repeat(times);
  },
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

/** Every `old` in `v` replaced, once its length is known to stay within the limit. */
function replaceEvery(v: string, old: string, replacement: string): string {
  let count = old === '' ? v.length + 1 : 0;
  for (let at = old === '' ? -1 : v.indexOf(old); at >= 0; at = v.indexOf(old, at + old.length)) count++;
  checkTemplateLength(v.length + count * (replacement.length - old.length));
  return v.replaceAll(old, replacement);
}

/**
 * Go's strings.Replace: n < 0 replaces all; an empty `old` matches before
 * each character and at the end (len + 1 places at most). Built in one pass
 * over `v`: splicing the string once per replacement was quadratic.
 */
function goReplace(v: string, old: string, replacement: string, n: number): string {
  if (n < 0 || Number.isNaN(n)) return replaceEvery(v, old, replacement);
  const parts: string[] = [];
  let length = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const at = old === '' ? (i === 0 ? 0 : pos + 1) : v.indexOf(old, pos);
    if (at < 0 || at > v.length) break;
    parts.push(v.slice(pos, at), replacement);
    length += at - pos + replacement.length;
    checkTemplateLength(length + v.length - at - old.length);
    pos = at + old.length;
  }
  parts.push(v.slice(pos));
  return parts.join('');
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
  const lines = v.split('\n').length;
  checkTemplateLength(Math.max(0, n) * lines + v.length);
  const pad = ' '.repeat(Math.max(0, n));
  return pad + v.replaceAll('\n', `\n${pad}`);
}

/** Loki's alignLeft/alignRight: cut or padded with spaces to exactly n characters. */
function align(n: number, v: string, side: 'left' | 'right'): string {
  const chars = [...v];
  if (n < 0 || Number.isNaN(n)) return v;
  checkTemplateLength(n);
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

/** Go's ordering of two basic values for lt/le/gt/ge/eq: same kinds only (ints and floats compare as numbers). */
function compareGo(a: GoValue, b: GoValue, op: string): number {
  const numeric = (v: GoValue) => typeof v === 'bigint' || typeof v === 'number';
  if (numeric(a) && numeric(b)) return Number(a) < Number(b) ? -1 : Number(a) > Number(b) ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean' && (op === 'eq' || op === 'ne')) return a === b ? 0 : 1;
  if (a === null || b === null || typeof a === 'object' || typeof b === 'object')
    throw new Error(op === 'eq' || op === 'ne' ? 'invalid type for comparison' : 'invalid type for comparison');
  throw new Error('incompatible types for comparison');
}

/** Go's integer division by zero, which a template reports as the error of its call. */
function nonZero(divisor: number): number {
  if (divisor === 0) throw new Error('runtime error: integer divide by zero');
  return divisor;
}

/** sprig's arithmetic: int64 results (bigint here) from the integer functions, float64 from the `f` ones, ceil, floor and round. */
const numberFunctions: Record<string, (args: string[]) => GoValue> = {
  int: ([v]) => BigInt(toInt(v)),
  float64: ([v]) => toFloat(v),
  add: (args) => BigInt(args.reduce((sum, a) => sum + toInt(a), 0)),
  sub: ([a, b]) => BigInt(toInt(a) - toInt(b)),
  mul: (args) => BigInt(args.reduce((product, a) => product * toInt(a), 1)),
  div: ([a, b]) => BigInt(Math.trunc(toInt(a) / nonZero(toInt(b)))),
  mod: ([a, b]) => BigInt(toInt(a) % nonZero(toInt(b))),
  addf: (args) => args.reduce((sum, a) => decimalOp('+', sum, toFloat(a)), 0),
  subf: ([a, ...rest]) => rest.reduce((difference, b) => decimalOp('-', difference, toFloat(b)), toFloat(a)),
  mulf: (args) => args.reduce((product, a) => decimalOp('*', product, toFloat(a)), 1),
  divf: ([a, ...rest]) => rest.reduce((quotient, b) => decimalOp('/', quotient, toFloat(b)), toFloat(a)),
  max: (args) => BigInt(Math.max(...args.map(toInt))),
  min: (args) => BigInt(Math.min(...args.map(toInt))),
  maxf: (args) => Math.max(...args.map(toFloat)),
  minf: (args) => Math.min(...args.map(toFloat)),
  ceil: ([v]) => Math.ceil(toFloat(v)),
  floor: ([v]) => Math.floor(toFloat(v)),
  round: (args) => sprigRound(args),
};

/** Functions that take and give Go values: Go's own builtins, the boolean sprig ones, fromJson and the time functions. */
const typedFunctions: Record<string, (args: GoValue[]) => GoValue> = {
  ...timeFunctions,
  ...Object.fromEntries(Object.entries(numberFunctions).map(([name, fn]) => [name, (args: GoValue[]) => fn(args.map(printGo))])),
  // sprig's default: the given value unless it is empty (Go's truth), else the default.
  default: ([fallback, v]) => (goTruth(v) ? v : fallback),
  not: ([v]) => !goTruth(v),
  eq: ([a, ...rest]) => rest.some((b) => compareGo(a, b, 'eq') === 0),
  ne: ([a, b]) => compareGo(a, b, 'ne') !== 0,
  lt: ([a, b]) => compareGo(a, b, 'lt') < 0,
  le: ([a, b]) => compareGo(a, b, 'le') <= 0,
  gt: ([a, b]) => compareGo(a, b, 'gt') > 0,
  ge: ([a, b]) => compareGo(a, b, 'ge') >= 0,
  len: ([v]) => {
    if (typeof v === 'string') return BigInt(Buffer.byteLength(v));
    if (Array.isArray(v)) return BigInt(v.length);
    if (v instanceof Map) return BigInt(v.size);
    if (v !== null && typeof v === 'object' && !(v instanceof GoTime)) return BigInt(Object.keys(v).length);
    throw new Error(`len of type ${goTypeName(v)}`);
  },
  index: ([collection, ...keys]) => keys.reduce<GoValue>((v, key) => indexGo(v, key), collection),
  print: (args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + printGo(a)).join(''),
  println: (args) => `${args.map(printGo).join(' ')}\n`,
  printf: ([format, ...args]) => goSprintf(printGo(format), args),
  fromJson: ([v]) => fromJson(printGo(v)),
  contains: ([part, v]) => printGo(v).includes(printGo(part)),
  hasPrefix: ([prefix, v]) => printGo(v).startsWith(printGo(prefix)),
  hasSuffix: ([suffix, v]) => printGo(v).endsWith(printGo(suffix)),
};

/** Go's index builtin: a map key or a slice position. */
function indexGo(v: GoValue, key: GoValue): GoValue {
  if (v instanceof Map) return v.get(printGo(key)) ?? '';
  if (Array.isArray(v)) {
    if (typeof key !== 'bigint') throw new Error(`cannot index slice/array with type ${goTypeName(key)}`);
    if (key < 0n || key >= BigInt(v.length)) throw new Error(`index out of range: ${key}`);
    return v[Number(key)];
  }
  if (v !== null && typeof v === 'object' && !(v instanceof GoTime))
    return Object.prototype.hasOwnProperty.call(v, printGo(key)) ? v[printGo(key)] : null;
  throw new Error(`can't index item of type ${goTypeName(v)}`);
}

/** Go's arity for the variadic functions: at least this many. */
const minimumArity: Record<string, number> = { and: 1, or: 1, eq: 1, index: 1, printf: 1, add: 0, mul: 0 };
Object.assign(arity, { not: 1, ne: 2, lt: 2, le: 2, gt: 2, ge: 2, len: 1, fromJson: 1, contains: 2, hasPrefix: 2, hasSuffix: 2 });

const lineFunction = '__line__';
const timestampFunction = '__timestamp__';
const knownFunction = (name: string) =>
  name in functions || name in typedFunctions || name === 'and' || name === 'or' || name === lineFunction || name === timestampFunction;

/** Thrown through a range body by {{break}} and {{continue}}. */
class RangeJump {
  constructor(readonly kind: 'break' | 'continue') {}
}

/** One run of a template over an entry: its root value, the dot and the variables in scope. */
class Execution {
  private readonly variables: [string, GoValue][];
  private out = '';
  private steps = 0;
  constructor(
    private readonly template: string,
    private readonly name: string,
    private readonly input: TemplateInput,
  ) {
    this.variables = [['$', input.labels]];
  }

  run(nodes: TemplateNode[]): string {
    this.list(nodes, this.input.labels);
    return this.out;
  }

  private fail(pos: number, at: string, message: string): never {
    throw new TemplateExecError(
      `${goTemplatePosition(this.name, this.template, pos)}: executing ${JSON.stringify(this.name)} at <${at}>: ${message}`,
    );
  }

  /** Past templateLimits.ts's bounds the entry fails, as for any error of the template. */
  private limited(message: string): never {
    throw new TemplateExecError(`${goTemplatePosition(this.name, this.template, 0)}: ${message}`);
  }

  private step(): void {
    if (++this.steps > templateStepLimit) this.limited(`more than ${templateStepLimit} steps`);
  }

  private write(text: string): void {
    this.out += text;
    if (this.out.length > templateOutputLimit) this.limited(`output longer than ${templateOutputLimit} characters`);
  }

  private list(nodes: TemplateNode[], dot: GoValue): void {
    for (const node of nodes) {
      this.step();
      switch (node.kind) {
        case 'text':
          this.write(node.text);
          break;
        case 'action': {
          const value = this.pipeline(node.pipeline, dot);
          if (node.pipeline.declare.length === 0) this.write(printGo(value));
          break;
        }
        case 'if':
        case 'with': {
          const depth = this.variables.length;
          const value = this.pipeline(node.pipeline, dot);
          if (goTruth(value)) this.list(node.list, node.kind === 'with' ? value : dot);
          else this.list(node.elseList, dot);
          this.variables.length = depth;
          break;
        }
        case 'range':
          this.range(node, dot);
          break;
        case 'break':
        case 'continue':
          throw new RangeJump(node.kind);
      }
    }
  }

  private range(node: { pipeline: Pipeline; list: TemplateNode[]; elseList: TemplateNode[] }, dot: GoValue): void {
    const depth = this.variables.length;
    const { declare } = node.pipeline;
    const value = this.pipeline({ ...node.pipeline, declare: [] }, dot);
    let items: [GoValue, GoValue][];
    if (Array.isArray(value)) items = value.map((item, i) => [BigInt(i), item]);
    else if (value instanceof Map) items = [...value.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    else if (typeof value === 'bigint' && value > BigInt(templateStepLimit)) this.limited(`more than ${templateStepLimit} steps`);
    else if (typeof value === 'bigint') items = Array.from({ length: Math.max(0, Number(value)) }, (_, i) => [BigInt(i), BigInt(i)]);
    else if (value === null) items = [];
    else if (typeof value === 'object' && !(value instanceof GoTime))
      items = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    else throw new TemplateExecError(`${goTemplatePosition(this.name, this.template, 0)}: range can't iterate over ${printGo(value)}`);
    if (items.length === 0) this.list(node.elseList, dot);
    for (const [key, item] of items) {
      this.step();
      this.variables.length = depth;
      if (declare.length === 1) this.variables.push([declare[0], item]);
      if (declare.length === 2) this.variables.push([declare[0], key], [declare[1], item]);
      try {
        this.list(node.list, item);
      } catch (jump) {
        if (!(jump instanceof RangeJump)) throw jump;
        if (jump.kind === 'break') break;
      }
    }
    this.variables.length = depth;
  }

  /** The innermost variable of that name in scope. */
  private variable(name: string): [string, GoValue] | undefined {
    for (let i = this.variables.length - 1; i >= 0; i--) if (this.variables[i][0] === name) return this.variables[i];
    return undefined;
  }

  private pipeline(pipeline: Pipeline, dot: GoValue): GoValue {
    let value: GoValue | undefined;
    for (const command of pipeline.commands) value = this.command(command, dot, value);
    if (pipeline.declare.length > 0) {
      const name = pipeline.declare[0];
      if (pipeline.assign) {
        const slot = this.variable(name);
        if (!slot) this.fail(pipeline.commands[0].pos, name, `undefined variable: ${name}`);
        slot[1] = value!;
      } else this.variables.push([name, value!]);
    }
    return value!;
  }

  private command(command: Command, dot: GoValue, piped: GoValue | undefined): GoValue {
    const [first, ...args] = command.operands;
    if (first.kind === 'identifier') return this.call(first.name, first.pos, args, dot, piped);
    if (args.length > 0 || piped !== undefined)
      this.fail(first.pos, describe(first), `can't give argument to non-function ${describe(first)}`);
    return this.operand(first, dot);
  }

  private operand(operand: Operand, dot: GoValue): GoValue {
    switch (operand.kind) {
      case 'literal':
        return operand.value;
      case 'identifier':
        return this.call(operand.name, operand.pos, [], dot, undefined);
      case 'field':
        return this.fields(dot, operand.chain, operand);
      case 'variable': {
        const slot = this.variable(operand.name);
        if (!slot) this.fail(operand.pos, operand.name, `undefined variable: ${operand.name}`);
        return this.fields(slot[1], operand.chain, operand);
      }
      case 'pipeline':
        return this.fields(this.pipeline(operand.pipeline, dot), operand.chain, operand);
    }
  }

  /** `.a.b` on a value: a label of the root, a key of a decoded JSON map. */
  private fields(value: GoValue, chain: string[], operand: Operand): GoValue {
    let current = value;
    for (const name of chain) {
      if (current instanceof Map) current = current.get(name) ?? '';
      else if (current !== null && typeof current === 'object' && !Array.isArray(current) && !(current instanceof GoTime))
        current = Object.prototype.hasOwnProperty.call(current, name) ? current[name] : null;
      else if (current === null) this.fail(operand.pos, describe(operand), `nil pointer evaluating interface {}.${name}`);
      else this.fail(operand.pos, describe(operand), `can't evaluate field ${name} in type ${goTypeName(current)}`);
    }
    return current;
  }

  private call(name: string, pos: number, args: Operand[], dot: GoValue, piped: GoValue | undefined): GoValue {
    const got = args.length + (piped === undefined ? 0 : 1);
    const want = name === lineFunction || name === timestampFunction ? 0 : arity[name];
    if (want !== undefined && got !== want) this.fail(pos, name, `wrong number of args for ${name}: want ${want} got ${got}`);
    const minimum = minimumArity[name];
    if (minimum !== undefined && got < minimum)
      this.fail(pos, name, `wrong number of args for ${name}: want at least ${minimum} got ${got}`);
    if (name === lineFunction) return this.input.line;
    if (name === timestampFunction) return new GoTime(BigInt(this.input.timestampNs));
    // and/or evaluate their arguments in turn and stop at the first that decides (Go 1.18+).
    if (name === 'and' || name === 'or') {
      let value: GoValue = false;
      for (let i = 0; i < got; i++) {
        value = i < args.length ? this.operand(args[i], dot) : piped!;
        if (goTruth(value) !== (name === 'and')) return value;
      }
      return value;
    }
    const values = args.map((arg) => this.operand(arg, dot));
    if (piped !== undefined) values.push(piped);
    try {
      const result = name in typedFunctions ? typedFunctions[name](values) : functions[name](values.map(printGo));
      if (typeof result === 'string') checkTemplateLength(result.length);
      return result;
    } catch (error) {
      if (error instanceof TemplateExecError || error instanceof MeshlogError) throw error;
      if (error instanceof GoArgumentTypeError) this.fail(pos, name, error.message);
      this.fail(pos, name, `error calling ${name}: ${(error as Error).message}`);
    }
  }
}

/** How Go names an operand in "executing … at <…>". */
function describe(operand: Operand): string {
  switch (operand.kind) {
    case 'field':
      return `.${operand.chain.join('.')}`;
    case 'variable':
      return [operand.name, ...operand.chain].join('.');
    case 'identifier':
      return operand.name;
    case 'literal':
      return typeof operand.value === 'string' ? JSON.stringify(operand.value) : printGo(operand.value);
    case 'pipeline':
      return '(...)';
  }
}

/** Checks, when the query is parsed, every regex a template writes literally (not at the first line). */
function checkRegexes(nodes: TemplateNode[]): void {
  const pipelines = (node: TemplateNode): Pipeline[] =>
    node.kind === 'action'
      ? [node.pipeline]
      : node.kind === 'if' || node.kind === 'with' || node.kind === 'range'
        ? [node.pipeline, ...node.list.flatMap(pipelines), ...node.elseList.flatMap(pipelines)]
        : [];
  const commands = (pipeline: Pipeline): Command[] =>
    pipeline.commands.flatMap((command) => [
      command,
      ...command.operands.flatMap((operand) => (operand.kind === 'pipeline' ? commands(operand.pipeline) : [])),
    ]);
  for (const command of nodes.flatMap(pipelines).flatMap(commands)) {
    const [first, regex] = command.operands;
    if (first?.kind === 'identifier' && /^(regexReplaceAll|regexReplaceAllLiteral|count)$/.test(first.name) && regex?.kind === 'literal')
      replaceAllMatches('', printGo(regex.value), () => '');
  }
}

/**
 * Go's text/template as LogQL's line_format and label_format run it (Loki's
 * fmt.go): labels as `.name`, `__line__`, `__timestamp__`, Loki's functions,
 * Go's builtins, variables, if/else, with and range. A template that does not
 * parse is a query parse error; one that fails on an entry throws
 * TemplateExecError with Go's message.
 */
export function compileTemplate(template: string, name = 'line'): (input: TemplateInput) => string {
  const nodes = parseGoTemplate(template, name, knownFunction);
  checkRegexes(nodes);
  return (input) => new Execution(template, name, input).run(nodes);
}
