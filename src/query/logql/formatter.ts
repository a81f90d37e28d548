import type { Expr, Grouping, LabelFilter, LabelMatcher, LogQuery, Stage, Unwrap, VectorMatching } from './ast.js';

/**
 * LogQL text of a syntax tree, spelled the way Loki's `String()` spells it,
 * and the indented form `/loki/api/v1/format_query` answers (Loki's
 * `syntax.Prettify`: a node longer than 100 characters is split, two spaces
 * per level).
 */
const maxCharsPerLine = 100;

const quote = (value: string) => JSON.stringify(value);

function matcher(m: LabelMatcher): string {
  return `${m.name}${m.op}${quote(m.value)}`;
}

/** Go's time.Duration spelling of a number of milliseconds (`1m30s`, `250ms`, `1.5s`). */
function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = `${Number((rest / 1000).toFixed(9))}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

/** Prometheus' model.Duration spelling of a range or offset (`5m`, `1h30m`, `1d`). */
function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [
    ['y', 31_536_000_000],
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = ms;
  let out = '';
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

function labelFilter(filter: LabelFilter): string {
  switch (filter.kind) {
    case 'and':
      return `( ${labelFilter(filter.left)} , ${labelFilter(filter.right)} )`;
    case 'or':
      return `( ${labelFilter(filter.left)} or ${labelFilter(filter.right)} )`;
    case 'match':
      return matcher(filter.matcher);
    case 'compare': {
      const value =
        filter.unit === 'duration' ? goDuration(filter.value * 1000) : filter.unit === 'bytes' ? `${filter.value}B` : String(filter.value);
      return `${filter.name}${filter.op}${value}`;
    }
  }
}

function stage(s: Stage): string {
  switch (s.kind) {
    case 'line_filter':
      return `${s.op} ${s.values.map(quote).join(' or ')}`;
    case 'json':
    case 'logfmt':
      return `| ${s.kind}${s.kind === 'logfmt' && s.strict ? ' --strict' : ''}${s.kind === 'logfmt' && s.keepEmpty ? ' --keep-empty' : ''}${s.params.length > 0 ? ` ${s.params.map((p) => `${p.label}=${quote(p.expression)}`).join(',')}` : ''}`;
    case 'unpack':
    case 'decolorize':
      return `| ${s.kind}`;
    case 'regexp':
    case 'pattern':
      return `| ${s.kind} ${quote(s.expression)}`;
    case 'label_filter':
      return `| ${labelFilter(s.filter)}`;
    case 'line_format':
      return `| line_format ${quote(s.template)}`;
    case 'label_format':
      return `| label_format ${s.items.map((item) => `${item.label}=${item.template === undefined ? item.source : quote(item.template)}`).join(',')}`;
    case 'drop':
    case 'keep':
      return `| ${s.kind} ${s.items.map((item) => (item.matcher ? matcher(item.matcher) : item.name)).join(',')}`;
  }
}

function selector(log: LogQuery): string {
  return `{${log.selector.map(matcher).join(', ')}}`;
}

function unwrap(u: Unwrap): string {
  const label = u.conversion === 'number' ? u.label : `${u.conversion}(${u.label})`;
  return `| unwrap ${label}${u.postFilters.map((f) => ` | ${labelFilter(f)}`).join('')}`;
}

function grouping(g: Grouping | undefined): string {
  if (!g) return '';
  const list = `(${g.labels.join(',')})`;
  return g.without ? ` without ${list}` : ` by ${list}`;
}

function binaryOperator(op: string, returnBool: boolean, matching: VectorMatching | undefined): string {
  let text = op + (returnBool ? ' bool' : '');
  if (matching) {
    text += ` ${matching.on ? 'on' : 'ignoring'} (${matching.labels.join(',')})`;
    if (matching.card !== 'one-to-one')
      text += ` ${matching.card === 'many-to-one' ? 'group_left' : 'group_right'} (${matching.include.join(',')})`;
  }
  return text;
}

function logString(log: LogQuery): string {
  return [selector(log), ...log.stages.map(stage)].join(' ');
}

/** One-line canonical text of a query. */
export function formatLogql(expr: Expr): string {
  switch (expr.kind) {
    case 'log':
      return logString(expr);
    case 'number':
      return String(expr.value);
    case 'vector':
      return `vector(${expr.value.toFixed(6)})`;
    case 'range': {
      const inner = `${logString(expr.log)}${expr.unwrap ? ` ${unwrap(expr.unwrap)}` : ''}`;
      const window = `[${promDuration(expr.rangeMs)}]${expr.offsetMs ? ` offset ${promDuration(expr.offsetMs)}` : ''}`;
      const param = expr.param !== undefined ? `${expr.param},` : '';
      return `${expr.fn}(${param}${inner}${window})${grouping(expr.grouping)}`;
    }
    case 'vector_agg':
      return `${expr.op}${grouping(expr.grouping)}(${expr.param !== undefined ? `${expr.param},` : ''}${formatLogql(expr.expr)})`;
    case 'binary':
      return `(${formatLogql(expr.left)} ${binaryOperator(expr.op, expr.returnBool, expr.matching)} ${formatLogql(expr.right)})`;
    case 'label_replace':
      return `label_replace(${formatLogql(expr.expr)},${[expr.dst, expr.replacement, expr.src, expr.regex].map(quote).join(',')})`;
  }
}

const indent = (level: number) => '  '.repeat(level);

/** The indented form: nodes that fit in 100 characters stay on one line. */
export function prettyLogql(expr: Expr, level = 0): string {
  const flat = formatLogql(expr);
  if (flat.length <= maxCharsPerLine) return indent(level) + flat;
  switch (expr.kind) {
    case 'log':
      return [indent(level) + selector(expr), ...expr.stages.map((s) => indent(level + 1) + stage(s))].join('\n');
    case 'range': {
      const inner: string[] = [indent(level + 1) + selector(expr.log), ...expr.log.stages.map((s) => indent(level + 2) + stage(s))];
      if (expr.unwrap) inner.push(indent(level + 2) + unwrap(expr.unwrap));
      inner[inner.length - 1] += ` [${promDuration(expr.rangeMs)}]${expr.offsetMs ? ` offset ${promDuration(expr.offsetMs)}` : ''}`;
      const param = expr.param !== undefined ? [`${indent(level + 1)}${expr.param},`] : [];
      return [`${indent(level)}${expr.fn}(`, ...param, ...inner, `${indent(level)})${grouping(expr.grouping)}`].join('\n');
    }
    case 'vector_agg': {
      const param = expr.param !== undefined ? [`${indent(level + 1)}${expr.param},`] : [];
      return [
        `${indent(level)}${expr.op}${grouping(expr.grouping)}(`,
        ...param,
        prettyLogql(expr.expr, level + 1),
        `${indent(level)})`,
      ].join('\n');
    }
    case 'binary':
      return [
        prettyLogql(expr.left, level + 1),
        indent(level) + binaryOperator(expr.op, expr.returnBool, expr.matching),
        prettyLogql(expr.right, level + 1),
      ].join('\n');
    case 'label_replace': {
      const args = [expr.dst, expr.replacement, expr.src, expr.regex].map((arg) => indent(level + 1) + quote(arg));
      return [`${indent(level)}label_replace(`, `${prettyLogql(expr.expr, level + 1)},`, args.join(',\n'), `${indent(level)})`].join('\n');
    }
    default:
      return indent(level) + flat;
  }
}
