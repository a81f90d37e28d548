import type {
  BinaryOp,
  CompareOp,
  Expr,
  ExtractionParam,
  Grouping,
  LabelFilter,
  LabelMatcher,
  LineFilter,
  LogQuery,
  MatchOp,
  MetricExpr,
  RangeFunction,
  Stage,
  Unwrap,
  VectorMatching,
  VectorOp,
} from './ast.js';
import * as keywords from '../../api/logqlKeywords.js';
import { promParseDuration } from './goDuration.js';
import { estimateRegexSize, goRegex } from './goRegex.js';
import { tokenize, type Token } from './lexer.js';
import { LogqlParseError } from './parseError.js';

const rangeFunctions = new Set<RangeFunction>(keywords.rangeFunctions);
const unwrapFunctions = new Set<RangeFunction>(keywords.unwrapRangeFunctions);
const groupingFunctions = new Set<RangeFunction>(keywords.groupingRangeFunctions);
const vectorOps = new Set<VectorOp>(keywords.vectorAggregations);
const matchOps = new Set<string>(keywords.matchOperators);
const compareOps = new Set<string>(keywords.comparisonOperators);
const lineFilterOps = new Set<string>(keywords.lineFilterOperators);
const stageKeywords = new Set<string>(keywords.pipelineStageKeywords);
const labelName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * How deeply a query may nest: parentheses, aggregations, range functions,
 * label_replace, unary minus, chained binary operators and label filters each
 * count a level. Deeper queries are refused with a 400 (ML_QUERY_PARSE) before
 * anything recursive (parser, compiler, engine) can run out of stack.
 */
export const maxNestingDepth = 128;

/** The regexes of one query together, in estimated RE2 instructions (each one at most goRegex's maxRegexSize). */
export const maxQueryRegexSize = 100_000;

/** Parses a LogQL query (log or metric) into its syntax tree; errors say where and what was expected. */
export function parseLogql(source: string): Expr {
  return new Parser(source).parseQuery();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  /** Levels of nesting open at the current token. */
  private depth = 0;
  /** Estimated RE2 size of the regexes seen so far. */
  private regexSize = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parseQuery(): Expr {
    if (this.peek().type === 'eof') this.fail('a log or metric query');
    const expr = this.parseBinary(0);
    if (this.peek().type !== 'eof') this.fail('an operator or the end of the query');
    return expr;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'eof') this.index++;
    return token;
  }

  private is(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return (token.type === 'op' || token.type === 'ident') && token.text === text;
  }

  /** Runs `parse` one nesting level deeper; past maxNestingDepth the query is refused. */
  private nested<T>(parse: () => T): T {
    if (++this.depth > maxNestingDepth) {
      throw new LogqlParseError(
        this.source,
        this.peek().pos,
        `at most ${maxNestingDepth} levels of nesting (parentheses, aggregations, operators)`,
        'a query nested deeper',
      );
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  /** A chain of `count` operands (a + b + c…, filters joined by and/or) nests that deep in the syntax tree. */
  private chained(count: number, at: Token): void {
    if (this.depth + count > maxNestingDepth) {
      throw new LogqlParseError(
        this.source,
        at.pos,
        `at most ${maxNestingDepth} levels of nesting (parentheses, aggregations, operators)`,
        'a query nested deeper',
      );
    }
  }

  private fail(expected: string, token: Token = this.peek()): never {
    const found = token.type === 'eof' ? 'end of query' : token.type === 'string' ? JSON.stringify(token.text) : `"${token.text}"`;
    throw new LogqlParseError(this.source, token.pos, expected, found);
  }

  private expect(text: string): Token {
    if (!this.is(text)) this.fail(`"${text}"`);
    return this.next();
  }

  private expectType(type: Token['type'], expected: string): Token {
    if (this.peek().type !== type) this.fail(expected);
    return this.next();
  }

  private expectLabelName(): string {
    const token = this.peek();
    if (token.type !== 'ident' || !labelName.test(token.text)) this.fail('a label name');
    return this.next().text;
  }

  // Precedence climbing, Prometheus' order: or < and/unless < comparisons < +,- < *,/,% < ^.
  private static readonly levels: string[][] = [
    ['or'],
    ['and', 'unless'],
    ['==', '!=', '>', '>=', '<', '<='],
    ['+', '-'],
    ['*', '/', '%'],
    ['^'],
  ];

  private parseBinary(level: number): Expr {
    if (level >= Parser.levels.length) return this.parseUnary();
    let left = this.parseBinary(level + 1);
    for (let operands = 1; ; operands++) {
      const token = this.peek();
      if (!Parser.levels[level].includes(token.text) || token.type === 'string') return left;
      const opToken = this.next();
      // A left-associative chain nests one level per operator in the syntax tree.
      this.chained(operands, opToken);
      const op = opToken.text as BinaryOp;
      const returnBool = this.is('bool') ? (this.next(), true) : false;
      const matching = this.parseVectorMatching(opToken);
      // ^ is right-associative.
      const right = op === '^' ? this.nested(() => this.parseBinary(level)) : this.parseBinary(level + 1);
      left = { kind: 'binary', op, returnBool, matching, left: this.metric(left, opToken), right: this.metric(right, opToken) };
    }
  }

  /** `on(…)`/`ignoring(…)`, optionally followed by `group_left(…)`/`group_right(…)`. */
  private parseVectorMatching(opToken: Token): VectorMatching | undefined {
    if (!this.is('on') && !this.is('ignoring')) return undefined;
    const on = this.next().text === 'on';
    const labels = this.parseLabelList();
    let card: VectorMatching['card'] = 'one-to-one';
    let include: string[] = [];
    if (this.is('group_left') || this.is('group_right')) {
      const group = this.next();
      if (['and', 'or', 'unless'].includes(opToken.text)) this.fail(`no grouping modifier with the set operator "${opToken.text}"`, group);
      card = group.text === 'group_left' ? 'many-to-one' : 'one-to-many';
      if (this.is('(')) include = this.parseLabelList();
      const both = include.find((name) => on && labels.includes(name));
      if (both) this.fail(`label "${both}" in either on(…) or ${group.text}(…), not both`, group);
    }
    return { on, labels, card, include };
  }

  private metric(expr: Expr, at: Token): MetricExpr {
    if (expr.kind === 'log')
      this.fail('a metric query on both sides of a binary operation (wrap log queries in a range function such as count_over_time)', at);
    return expr;
  }

  private parseUnary(): Expr {
    if (this.is('-')) {
      const token = this.next();
      const operand = this.nested(() => this.parseUnary());
      if (operand.kind === 'number') return { kind: 'number', value: -operand.value };
      return { kind: 'binary', op: '*', returnBool: false, left: { kind: 'number', value: -1 }, right: this.metric(operand, token) };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const token = this.peek();
    if (token.type === 'number') {
      this.next();
      return { kind: 'number', value: token.value! };
    }
    if (this.is('(')) {
      this.next();
      const inner = this.nested(() => this.parseBinary(0));
      this.expect(')');
      return inner;
    }
    if (this.is('{')) return this.parseLogQuery();
    if (token.type === 'ident') {
      if (token.text === 'vector') {
        this.next();
        this.expect('(');
        const value = this.parseSignedNumber();
        this.expect(')');
        return { kind: 'vector', value };
      }
      if (token.text === 'label_replace') return this.nested(() => this.parseLabelReplace());
      if (rangeFunctions.has(token.text as RangeFunction)) return this.nested(() => this.parseRangeAggregation());
      if (vectorOps.has(token.text as VectorOp)) return this.nested(() => this.parseVectorAggregation());
    }
    return this.fail(
      'a stream selector {…}, a number, vector(), label_replace(), a range function (count_over_time, rate…) or an aggregation (sum, topk…)',
    );
  }

  /** `label_replace(<metric>, "dst", "replacement", "src", "regex")`. */
  private parseLabelReplace(): MetricExpr {
    const fnToken = this.next();
    this.expect('(');
    const expr = this.metric(this.parseBinary(0), fnToken);
    const argument = (what: string, check?: (value: string, at: Token) => void): string => {
      this.expect(',');
      const token = this.expectType('string', `a quoted string: ${what}`);
      check?.(token.text, token);
      return token.text;
    };
    const labelArgument = (what: string) => (value: string, at: Token) =>
      labelName.test(value) || this.fail(`a valid label name as ${what}`, at);
    const dst = argument('the destination label', labelArgument('the destination label'));
    const replacement = argument('the replacement');
    const src = argument('the source label', labelArgument('the source label'));
    const regex = argument('the regular expression', (value, at) => this.checkRegex(value, at));
    this.expect(')');
    return { kind: 'label_replace', expr, dst, replacement, src, regex };
  }

  private parseSignedNumber(): number {
    const negative = this.is('-') ? (this.next(), true) : false;
    const value = this.expectType('number', 'a number').value!;
    return negative ? -value : value;
  }

  private parseLabelList(): string[] {
    this.expect('(');
    const labels: string[] = [];
    while (!this.is(')')) {
      labels.push(this.expectLabelName());
      if (!this.is(',')) break;
      this.next();
    }
    this.expect(')');
    return labels;
  }

  private parseGrouping(): Grouping | undefined {
    if (!this.is('by') && !this.is('without')) return undefined;
    const without = this.next().text === 'without';
    return { without, labels: this.parseLabelList() };
  }

  private parseVectorAggregation(): MetricExpr {
    const opToken = this.next();
    const op = opToken.text as VectorOp;
    let groupingAt = this.peek();
    let grouping = this.parseGrouping();
    this.expect('(');
    let param: number | undefined;
    if (op === 'topk' || op === 'bottomk') {
      param = this.parseSignedNumber();
      if (!Number.isInteger(param) || param < 1) this.fail(`a positive integer k for ${op}`, this.peek(-1));
      this.expect(',');
    }
    const inner = this.parseBinary(0);
    this.expect(')');
    if (!grouping) {
      groupingAt = this.peek();
      grouping = this.parseGrouping();
    }
    if (grouping && (op === 'sort' || op === 'sort_desc')) this.fail(`no grouping on ${op}`, groupingAt);
    return { kind: 'vector_agg', op, grouping, param, expr: this.metric(inner, opToken) };
  }

  private parseRangeAggregation(): MetricExpr {
    const fnToken = this.next();
    const fn = fnToken.text as RangeFunction;
    this.expect('(');
    let param: number | undefined;
    if (fn === 'quantile_over_time') {
      param = this.parseSignedNumber();
      this.expect(',');
    }
    if (!this.is('{')) this.fail('a stream selector {…}');
    const { log, unwrap } = this.parseLogQueryWithUnwrap();
    this.expect('[');
    const range = this.expectType('duration', 'a range duration such as 5m');
    // Loki reads a range with Prometheus' duration grammar only: whole numbers, no ns/us (lex.go).
    if (promParseDuration(range.text) === undefined) this.fail('a range duration in whole y, w, d, h, m, s or ms such as 1h30m', range);
    this.expect(']');
    let offsetMs = 0;
    if (this.is('offset')) {
      this.next();
      offsetMs = this.expectType('duration', 'an offset duration such as 1h').value!;
    }
    this.expect(')');
    const grouping = this.parseGrouping();
    // rate works on log lines and, like Loki's rate(unwrapped-range), on unwrapped values.
    if (unwrapFunctions.has(fn) && !unwrap) this.fail(`"| unwrap <label>" before the range of ${fn}`, range);
    if (!unwrapFunctions.has(fn) && fn !== 'rate' && unwrap)
      this.fail(`a range function that takes unwrapped values (sum_over_time…), not ${fn}`, fnToken);
    // As Loki: only these group their samples with by/without; the others are grouped by an outer sum by (…).
    if (grouping && !groupingFunctions.has(fn)) this.fail(`no grouping on ${fn} (group with sum by (…) instead)`, this.peek(-1));
    return { kind: 'range', fn, log, rangeMs: range.value!, offsetMs, unwrap, param, grouping };
  }

  private parseLogQuery(): LogQuery {
    const { log, unwrap } = this.parseLogQueryWithUnwrap();
    if (unwrap) this.fail('a range function around a query with "| unwrap"', this.peek());
    return log;
  }

  private parseLogQueryWithUnwrap(): { log: LogQuery; unwrap?: Unwrap } {
    const selector = this.parseSelector();
    const stages: Stage[] = [];
    let unwrap: Unwrap | undefined;
    for (;;) {
      const token = this.peek();
      if (token.type === 'op' && lineFilterOps.has(token.text)) {
        if (unwrap) this.fail('a label filter after "| unwrap"');
        stages.push(this.parseLineFilter());
        continue;
      }
      if (!this.is('|')) break;
      this.next();
      if (this.is('unwrap') && !this.isComparison(1)) {
        if (unwrap) this.fail('a label filter (only one "| unwrap")');
        this.next();
        unwrap = this.parseUnwrap();
        continue;
      }
      const stage = this.parseStage();
      if (unwrap) {
        if (stage.kind !== 'label_filter') this.fail('only label filters after "| unwrap"', token);
        unwrap.postFilters.push(stage.filter);
      } else stages.push(stage);
    }
    return { log: { kind: 'log', selector, stages }, unwrap };
  }

  private parseUnwrap(): Unwrap {
    let conversion: Unwrap['conversion'] = 'number';
    if ((this.is('duration') || this.is('duration_seconds') || this.is('bytes')) && this.is('(', 1)) {
      conversion = this.next().text === 'bytes' ? 'bytes' : 'duration';
      this.next();
      const label = this.expectLabelName();
      this.expect(')');
      return { label, conversion, postFilters: [] };
    }
    return { label: this.expectLabelName(), conversion, postFilters: [] };
  }

  private parseSelector(): LabelMatcher[] {
    this.expect('{');
    const matchers: LabelMatcher[] = [];
    while (!this.is('}')) {
      matchers.push(this.parseMatcher());
      if (!this.is(',')) break;
      this.next();
    }
    this.expect('}');
    if (matchers.length === 0) this.fail('at least one label matcher in the stream selector', this.peek(-1));
    if (!matchers.some((m) => !(m.op === '=' && m.value === '') && !(m.op === '=~' && goRegex(m.value, { anchored: true }).test('')))) {
      this.fail('a stream selector with at least one matcher that does not match the empty value', this.peek(-1));
    }
    return matchers;
  }

  private parseMatcher(): LabelMatcher {
    const name = this.expectLabelName();
    const opToken = this.peek();
    if (opToken.type !== 'op' || !matchOps.has(opToken.text)) this.fail('one of = != =~ !~');
    this.next();
    const value = this.expectType('string', 'a quoted string').text;
    const op = opToken.text as MatchOp;
    if (op === '=~' || op === '!~') this.checkRegex(value, this.peek(-1));
    return { name, op, value };
  }

  private checkRegex(pattern: string, at: Token): void {
    // Compiling costs time in the regexes' size: a query's regexes together are bounded too.
    this.regexSize += estimateRegexSize(pattern);
    if (this.regexSize > maxQueryRegexSize) this.fail(`regular expressions of at most ${maxQueryRegexSize} RE2 instructions in all`, at);
    try {
      goRegex(pattern, { anchored: false });
    } catch (error) {
      this.fail(`a valid regular expression (${(error as Error).message})`, at);
    }
  }

  private parseLineFilter(): LineFilter {
    const op = this.next().text as LineFilter['op'];
    const values = [this.expectType('string', 'a quoted string after the line filter').text];
    if (op === '|~' || op === '!~') this.checkRegex(values[0], this.peek(-1));
    while (this.is('or') && this.peek(1).type === 'string') {
      this.next();
      values.push(this.next().text);
      if (op === '|~' || op === '!~') this.checkRegex(values.at(-1)!, this.peek(-1));
    }
    return { kind: 'line_filter', op, values };
  }

  private isComparison(offset: number): boolean {
    const token = this.peek(offset);
    return token.type === 'op' && (matchOps.has(token.text) || compareOps.has(token.text));
  }

  private parseStage(): Stage {
    const token = this.peek();
    // A keyword followed by != or !~ is the stage and a line filter (`| decolorize != "x"`), as in Loki.
    const next = this.peek(1);
    const lineFilterNext = next.type === 'op' && (next.text === '!=' || next.text === '!~');
    if (token.type === 'ident' && stageKeywords.has(token.text) && (lineFilterNext || !this.isComparison(1))) {
      this.next();
      switch (token.text) {
        case 'json':
          return { kind: 'json', params: this.parseExtractionParams() };
        case 'logfmt': {
          const flags = new Set<string>();
          while (this.peek().type === 'flag') {
            const flag = this.next();
            if (flag.text !== '--strict' && flag.text !== '--keep-empty') this.fail('--strict or --keep-empty', flag);
            flags.add(flag.text);
          }
          const params = this.parseExtractionParams();
          return {
            kind: 'logfmt',
            params,
            ...(flags.has('--strict') ? { strict: true } : {}),
            ...(flags.has('--keep-empty') ? { keepEmpty: true } : {}),
          };
        }
        case 'unpack':
          return { kind: 'unpack' };
        case 'regexp': {
          const expression = this.expectType('string', 'a quoted regular expression with named groups').text;
          this.checkRegex(expression, this.peek(-1));
          if (!/\(\?P?<[A-Za-z_]/.test(expression))
            this.fail('a regular expression with at least one named group (?P<name>…)', this.peek(-1));
          return { kind: 'regexp', expression };
        }
        case 'pattern': {
          const expression = this.expectType('string', 'a quoted pattern such as "<ip> - <_>"').text;
          if (!/<[A-Za-z_][A-Za-z0-9_]*>/.test(expression.replaceAll('<_>', '')))
            this.fail('a pattern with at least one named capture <name>', this.peek(-1));
          // As Loki: two captures in a row could not be told apart.
          if (/<[A-Za-z_][A-Za-z0-9_]*><[A-Za-z_][A-Za-z0-9_]*>/.test(expression))
            this.fail('a literal between two captures of the pattern', this.peek(-1));
          return { kind: 'pattern', expression };
        }
        case 'line_format':
          return { kind: 'line_format', template: this.expectType('string', 'a quoted template').text };
        case 'label_format':
          return { kind: 'label_format', items: this.parseLabelFormatItems() };
        case 'drop':
        case 'keep':
          return { kind: token.text, items: this.parseDropKeepItems() };
        case 'decolorize':
          return { kind: 'decolorize' };
      }
    }
    if (token.type === 'ident' || this.is('(')) return { kind: 'label_filter', filter: this.parseLabelFilterOr() };
    return this.fail(
      'a parser (json, logfmt, regexp, pattern, unpack), a label filter, line_format, label_format, drop, keep, decolorize or unwrap',
    );
  }

  private parseExtractionParams(): ExtractionParam[] {
    const params: ExtractionParam[] = [];
    while (this.peek().type === 'ident') {
      const label = this.expectLabelName();
      let expression = label;
      if (this.is('=')) {
        this.next();
        expression = this.expectType('string', 'a quoted expression').text;
      }
      params.push({ label, expression });
      if (!this.is(',')) break;
      this.next();
    }
    return params;
  }

  private parseLabelFormatItems(): { label: string; source?: string; template?: string }[] {
    const items: { label: string; source?: string; template?: string }[] = [];
    do {
      if (items.length > 0) this.next();
      const label = this.expectLabelName();
      this.expect('=');
      const value = this.peek();
      if (value.type === 'string') items.push({ label, template: this.next().text });
      else items.push({ label, source: this.expectLabelName() });
    } while (this.is(','));
    return items;
  }

  private parseDropKeepItems(): { name: string; matcher?: LabelMatcher }[] {
    const items: { name: string; matcher?: LabelMatcher }[] = [];
    do {
      if (items.length > 0) this.next();
      if (this.isComparison(1)) {
        const matcher = this.parseMatcher();
        items.push({ name: matcher.name, matcher });
      } else items.push({ name: this.expectLabelName() });
    } while (this.is(','));
    return items;
  }

  private parseLabelFilterOr(): LabelFilter {
    const terms = [this.parseLabelFilterAnd()];
    while (this.is('or')) {
      this.next();
      terms.push(this.parseLabelFilterAnd());
    }
    return balanced('or', terms);
  }

  private parseLabelFilterAnd(): LabelFilter {
    const terms = [this.parseLabelFilterPrimary()];
    for (;;) {
      if (this.is('and') || this.is(',')) this.next();
      else if (!(this.peek().type === 'ident' && this.isComparison(1)) && !this.is('(')) return balanced('and', terms);
      terms.push(this.parseLabelFilterPrimary());
    }
  }

  private parseLabelFilterPrimary(): LabelFilter {
    if (this.is('(')) {
      this.next();
      const inner = this.nested(() => this.parseLabelFilterOr());
      this.expect(')');
      return inner;
    }
    const name = this.expectLabelName();
    const opToken = this.peek();
    if (opToken.type !== 'op' || !(matchOps.has(opToken.text) || compareOps.has(opToken.text))) {
      this.fail('a comparison (= != =~ !~ == > >= < <=)');
    }
    this.next();
    const value = this.peek();
    if (value.type === 'string') {
      if (!matchOps.has(opToken.text)) this.fail('a number, duration or byte size to compare with', value);
      this.next();
      if (opToken.text === '=~' || opToken.text === '!~') this.checkRegex(value.text, value);
      return { kind: 'match', matcher: { name, op: opToken.text as MatchOp, value: value.text } };
    }
    if (value.type === 'number' || value.type === 'duration' || value.type === 'bytes' || this.is('-')) {
      if (opToken.text === '=~' || opToken.text === '!~') this.fail('a quoted regular expression', value);
      const negative = this.is('-') ? (this.next(), -1) : 1;
      const operand = this.next();
      if (operand.type !== 'number' && operand.type !== 'duration' && operand.type !== 'bytes') this.fail('a number', operand);
      const op = (opToken.text === '=' ? '==' : opToken.text) as CompareOp;
      const unit = operand.type === 'duration' ? 'duration' : operand.type;
      // Durations compare in seconds, as Loki's duration label filters do.
      const amount = operand.type === 'duration' ? operand.value! / 1000 : operand.value!;
      return { kind: 'compare', name, op, value: negative * amount, unit };
    }
    return this.fail('a quoted string, a number, a duration or a byte size', value);
  }
}

/**
 * Terms joined by one operator as a balanced tree, in their order: `and` and
 * `or` are associative, so a chain of thousands of filters nests log2(n)
 * deep instead of n (which would overflow the stack where filters run).
 */
function balanced(kind: 'and' | 'or', terms: LabelFilter[]): LabelFilter {
  if (terms.length === 1) return terms[0];
  const middle = terms.length >> 1;
  return { kind, left: balanced(kind, terms.slice(0, middle)), right: balanced(kind, terms.slice(middle)) };
}
