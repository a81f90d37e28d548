import { MeshlogError } from '../../errors.js';

/**
 * A parser for the part of Go's text/template that LogQL's line_format and
 * label_format take (pkg/logql/log/fmt.go parses with text/template): text,
 * actions with pipelines, `{{-`/`-}}` trimming, comments, variables,
 * `if`/`else if`/`else`, `with`, `range` (with `break`/`continue`) and
 * parenthesized pipelines. It yields a tree that lineTemplate.ts runs.
 */

/** Where a node starts in its template (a byte offset, for Go's `template: line:1:9:` positions). */
export type Operand =
  | { kind: 'field'; chain: string[]; pos: number }
  | { kind: 'variable'; name: string; chain: string[]; pos: number }
  | { kind: 'identifier'; name: string; pos: number }
  | { kind: 'literal'; value: string | number | bigint | boolean | null; pos: number }
  | { kind: 'pipeline'; pipeline: Pipeline; chain: string[]; pos: number };

export interface Command {
  operands: Operand[];
  pos: number;
}

export interface Pipeline {
  declare: string[];
  assign: boolean;
  commands: Command[];
}

export type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline }
  | { kind: 'if' | 'with' | 'range'; pipeline: Pipeline; list: TemplateNode[]; elseList: TemplateNode[] }
  | { kind: 'break' | 'continue' };

type Token =
  | { type: 'text'; value: string; pos: number }
  | { type: 'string' | 'number' | 'field' | 'variable' | 'identifier' | 'char'; value: string; pos: number }
  | { type: 'open' | '(' | ')' | '|' | ':=' | '=' | ',' | 'end-action'; value: string; pos: number };

function fail(name: string, template: string, pos: number, message: string): never {
  const before = template.slice(0, pos);
  const line = before.split('\n').length;
  throw new MeshlogError('ML_QUERY_PARSE', `template: ${name}:${line}: ${message}`);
}

const goEscapes: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Go's strconv.Unquote of a double-quoted literal. */
function unquote(text: string): string | undefined {
  let out = '';
  for (let i = 1; i < text.length - 1; i++) {
    const ch = text[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = text[++i];
    if (next in goEscapes) out += goEscapes[next];
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if ((next === 'u' || next === 'U') && /^[0-9a-fA-F]+$/.test(text.slice(i + 1, i + (next === 'u' ? 5 : 9)))) {
      const digits = next === 'u' ? 4 : 8;
      out += String.fromCodePoint(parseInt(text.slice(i + 1, i + 1 + digits), 16));
      i += digits;
    } else if (/^[0-7]{3}$/.test(text.slice(i, i + 3))) {
      out += String.fromCharCode(parseInt(text.slice(i, i + 3), 8));
      i += 2;
    } else return undefined;
  }
  return out;
}

/** Splits a template into text and action tokens, as Go's lexer does. */
function lex(template: string, name: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let trimNext = false;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    let text = template.slice(i, open < 0 ? undefined : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    const trimBefore = open >= 0 && /^\{\{-[ \t\r\n]/.test(template.slice(open));
    if (trimBefore) text = text.replace(/[ \t\r\n]+$/, '');
    if (text !== '') tokens.push({ type: 'text', value: text, pos: i });
    if (open < 0) break;
    i = open + (trimBefore ? 4 : 2);
    if (template.startsWith('/*', i)) {
      const end = template.indexOf('*/', i);
      if (end < 0) fail(name, template, i, 'unclosed comment');
      i = end + 2;
      const close = /^(?:[ \t\r\n]-)?\}\}/.exec(template.slice(i));
      if (!close) fail(name, template, i, 'comment ends before closing delimiter');
      trimNext = close[0].length > 2;
      i += close[0].length;
      continue;
    }
    trimNext = false;
    tokens.push({ type: 'open', value: '', pos: i });
    for (;;) {
      const rest = template.slice(i);
      const closing = /^[ \t\r\n]+-\}\}/.exec(rest) ?? /^\}\}/.exec(rest);
      if (closing) {
        tokens.push({ type: 'end-action', value: '', pos: i });
        trimNext = closing[0].length > 2;
        i += closing[0].length;
        break;
      }
      if (rest === '') fail(name, template, i, 'unclosed action');
      const space = /^[ \t\r\n]+/.exec(rest);
      if (space) {
        i += space[0].length;
        continue;
      }
      const match =
        (/^"(?:[^"\\\n]|\\.)*"/.exec(rest) && { type: 'string' as const, text: /^"(?:[^"\\\n]|\\.)*"/.exec(rest)![0] }) ||
        (/^`[^`]*`/.exec(rest) && { type: 'string' as const, text: /^`[^`]*`/.exec(rest)![0] }) ||
        (/^'(?:[^'\\]|\\.)+'/.exec(rest) && { type: 'char' as const, text: /^'(?:[^'\\]|\\.)+'/.exec(rest)![0] }) ||
        (/^:=/.exec(rest) && { type: ':=' as const, text: ':=' }) ||
        (/^[()|=,]/.exec(rest) && { type: rest[0] as '(' | ')' | '|' | '=' | ',', text: rest[0] }) ||
        (/^[-+]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])/.exec(rest) && {
          type: 'number' as const,
          text: /^[-+]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)/.exec(rest)![0],
        }) ||
        (/^(?:\.[A-Za-z_]\w*)+|^\./.exec(rest) && { type: 'field' as const, text: /^(?:\.[A-Za-z_]\w*)+|^\./.exec(rest)![0] }) ||
        (/^\$\w*(?:\.[A-Za-z_]\w*)*/.exec(rest) && { type: 'variable' as const, text: /^\$\w*(?:\.[A-Za-z_]\w*)*/.exec(rest)![0] }) ||
        (/^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*/.exec(rest) && {
          type: 'identifier' as const,
          text: /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*/.exec(rest)![0],
        });
      if (!match) fail(name, template, i, `unexpected ${JSON.stringify(rest[0])} in command`);
      tokens.push({ type: match.type, value: match.text, pos: i } as Token);
      i += match.text.length;
    }
  }
  return tokens;
}

const keywords = new Set(['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']);

class Parser {
  private at = 0;
  private rangeDepth = 0;
  /** The variables in scope: Go refuses an undeclared one when parsing. */
  private readonly variables = ['$'];
  constructor(
    private readonly tokens: Token[],
    private readonly template: string,
    private readonly name: string,
    private readonly known: (name: string) => boolean,
  ) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.at + offset];
  }

  private fail(pos: number, message: string): never {
    fail(this.name, this.template, pos, message);
  }

  /** A list of nodes up to `{{end}}`/`{{else}}` (returned as the stopper) or the end of the template. */
  list(stoppers: string[]): { nodes: TemplateNode[]; stop?: string } {
    const nodes: TemplateNode[] = [];
    for (;;) {
      const token = this.peek();
      if (!token) {
        if (stoppers.length > 0) this.fail(this.template.length, `unexpected EOF`);
        return { nodes };
      }
      this.at++;
      if (token.type === 'text') {
        nodes.push({ kind: 'text', text: token.value });
        continue;
      }
      if (token.type !== 'open') this.fail(token.pos, `unexpected ${JSON.stringify(token.value)}`);
      const first = this.peek();
      if (first?.type === 'identifier' && keywords.has(first.value)) {
        const word = first.value;
        if (stoppers.includes(word)) {
          this.at++;
          return { nodes, stop: word };
        }
        this.at++;
        if (word === 'if' || word === 'with' || word === 'range') {
          nodes.push(this.branch(word));
          continue;
        }
        if ((word === 'break' || word === 'continue') && this.rangeDepth > 0) {
          this.expect('end-action', `unexpected in {{${word}}}`);
          nodes.push({ kind: word });
          continue;
        }
        this.fail(first.pos, `unexpected {{${word}}}`);
      }
      nodes.push({ kind: 'action', pipeline: this.pipeline('command', true) });
    }
  }

  private expect(type: Token['type'], message: string): Token {
    const token = this.peek();
    if (token?.type !== type) this.fail(token?.pos ?? this.template.length, message);
    this.at++;
    return token;
  }

  private branch(kind: 'if' | 'with' | 'range'): TemplateNode {
    const scope = this.variables.length;
    const node = this.branchInScope(kind);
    this.variables.length = scope;
    return node;
  }

  private branchInScope(kind: 'if' | 'with' | 'range'): TemplateNode {
    const pipeline = this.pipeline(kind, true);
    if (kind === 'range') this.rangeDepth++;
    const body = this.list(['else', 'end']);
    if (kind === 'range') this.rangeDepth--;
    let elseList: TemplateNode[] = [];
    if (body.stop === 'else') {
      const chained = this.peek();
      if (chained?.type === 'identifier' && (chained.value === 'if' || chained.value === 'with') && kind !== 'range') {
        // `{{else if …}}` is an if inside the else branch, sharing its {{end}}.
        this.at++;
        elseList = [this.branch(chained.value as 'if' | 'with')];
      } else {
        this.expect('end-action', 'unexpected token in {{else}}');
        elseList = this.list(['end']).nodes;
        this.expect('end-action', 'unexpected token in {{end}}');
      }
    } else this.expect('end-action', 'unexpected token in {{end}}');
    return { kind, pipeline, list: body.nodes, elseList };
  }

  /** A pipeline up to `}}` (or `)` inside parentheses), with an optional `$x :=` declaration. */
  private pipeline(context: string, topLevel: boolean): Pipeline {
    const declare: string[] = [];
    let assign = false;
    const variableAhead = () => this.peek()?.type === 'variable' && !this.peek()!.value.includes('.');
    if (variableAhead() && (this.peek(1)?.type === ':=' || this.peek(1)?.type === '=' || this.peek(1)?.type === ',')) {
      declare.push(this.peek()!.value);
      if (this.peek(1)?.type === ',' && context === 'range' && this.peek(2)?.type === 'variable') {
        declare.push(this.peek(2)!.value);
        this.at += 3;
      } else this.at += 1;
      const op = this.peek();
      if (op?.type !== ':=' && op?.type !== '=') this.fail(op?.pos ?? this.template.length, `missing := in ${context}`);
      assign = op.type === '=';
      this.at++;
      if (assign && !this.variables.includes(declare[0])) this.fail(op.pos, `undefined variable ${JSON.stringify(declare[0])}`);
      if (!assign) this.variables.push(...declare);
    }
    const commands: Command[] = [];
    const end = topLevel ? 'end-action' : ')';
    for (;;) {
      const token = this.peek();
      if (!token) this.fail(this.template.length, 'unclosed action');
      if (token.type === end) {
        this.at++;
        break;
      }
      if (token.type === '|') {
        if (commands.length === 0) this.fail(token.pos, `missing command before |`);
        this.at++;
        continue;
      }
      commands.push(this.command(end));
    }
    if (commands.length === 0) this.fail(this.peek(-1)?.pos ?? 0, `missing value for ${context}`);
    return { declare, assign, commands };
  }

  private command(end: string): Command {
    const operands: Operand[] = [];
    const pos = this.peek()!.pos;
    while (this.peek() && this.peek()!.type !== end && this.peek()!.type !== '|') operands.push(this.operand());
    return { operands, pos };
  }

  private operand(): Operand {
    const token = this.peek()!;
    this.at++;
    const { pos, value } = token;
    switch (token.type) {
      case 'string': {
        const text = value.startsWith('`') ? value.slice(1, -1) : unquote(value);
        if (text === undefined) this.fail(pos, `invalid string literal ${value} (escape backslashes as \\\\)`);
        return { kind: 'literal', value: text, pos };
      }
      case 'char': {
        const text = unquote(`"${value.slice(1, -1)}"`);
        if (text === undefined || [...text].length !== 1) this.fail(pos, `malformed character constant: ${value}`);
        return { kind: 'literal', value: BigInt(text.codePointAt(0)!), pos };
      }
      case 'number': {
        const clean = value.replaceAll('_', '');
        const isInt = /^[-+]?(?:0[xX][0-9a-fA-F]+|\d+)$/.test(clean);
        return {
          kind: 'literal',
          value: isInt ? BigInt(clean.replace(/^\+/, '').replace(/^(-?)0[xX]/, '$10x')) : Number(clean),
          pos,
        };
      }
      case 'field':
        return { kind: 'field', chain: value === '.' ? [] : value.slice(1).split('.'), pos };
      case 'variable': {
        const [name, ...chain] = value.split('.');
        if (!this.variables.includes(name)) this.fail(pos, `undefined variable ${JSON.stringify(name)}`);
        return { kind: 'variable', name, chain, pos };
      }
      case 'identifier': {
        if (value === 'true' || value === 'false') return { kind: 'literal', value: value === 'true', pos };
        if (value === 'nil') return { kind: 'literal', value: null, pos };
        if (value.includes('.') || keywords.has(value)) this.fail(pos, `unexpected ${JSON.stringify(value)} in operand`);
        if (!this.known(value)) this.fail(pos, `function ${JSON.stringify(value)} not defined`);
        return { kind: 'identifier', name: value, pos };
      }
      case '(': {
        const pipeline = this.pipeline('parenthesized pipeline', false);
        const after = this.peek();
        let chain: string[] = [];
        if (after?.type === 'field' && after.pos === this.tokens[this.at - 1].pos + 1) {
          chain = after.value.slice(1).split('.');
          this.at++;
        }
        return { kind: 'pipeline', pipeline, chain, pos };
      }
      default:
        this.fail(pos, `unexpected ${JSON.stringify(value || token.type)} in operand`);
    }
  }
}

/** Parses a template into its tree; `known` says which function names exist (Go refuses others when parsing). */
export function parseGoTemplate(template: string, name: string, known: (name: string) => boolean): TemplateNode[] {
  const parser = new Parser(lex(template, name), template, name, known);
  return parser.list([]).nodes;
}

/** Go's `template: line:1:9:` prefix for an error at a byte offset. */
export function goTemplatePosition(name: string, template: string, pos: number): string {
  const before = template.slice(0, pos);
  const lastNewline = before.lastIndexOf('\n');
  const line = before.split('\n').length;
  return `template: ${name}:${line}:${lastNewline < 0 ? pos : pos - lastNewline - 1}`;
}
