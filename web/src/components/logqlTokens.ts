import * as logql from '@api/logqlKeywords';

export type TokenKind = 'label' | 'string' | 'op' | 'fn' | 'num' | 'duration' | 'text';

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
}

/** Words the server's parser reads as keywords (src/api/logqlKeywords.ts), coloured as such, and Loki's `ip` label filter a Loki user types. */
const keywords = new Set<string>([
  ...logql.groupingKeywords,
  ...logql.vectorMatchingKeywords,
  ...logql.setOperators,
  logql.offsetKeyword,
  ...logql.pipelineStageKeywords,
  'ip',
  ...logql.rangeFunctions,
  ...logql.vectorAggregations,
  ...logql.unwrapConversions,
]);

// One alternative per token kind, tried in this order at each position.
const tokenPattern =
  /("(?:[^"\\]|\\.)*"?|`[^`]*`?)|(\[[0-9]+(?:ms|s|m|h|d|w|y)\])|([0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d|w|y|b|kb|mb|gb|kib|mib|gib)?\b)|(\|=|\|~|!=|!~|=~|==|>=|<=|\||=|>|<)|([A-Za-z_][A-Za-z0-9_.]*)|(\s+|.)/gy;

/** Splits LogQL into highlightable tokens (a lexer for colour, not the parser: the server parses). */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  tokenPattern.lastIndex = 0;
  let match: RegExpExecArray | null;
  while (tokenPattern.lastIndex < source.length && (match = tokenPattern.exec(source))) {
    const [text, str, dur, num, op, ident] = match;
    let kind: TokenKind = 'text';
    if (str) kind = 'string';
    else if (dur) kind = 'duration';
    else if (num) kind = 'num';
    else if (op) kind = 'op';
    else if (ident)
      kind = keywords.has(ident) ? 'fn' : /^\s*(=~|!~|!=|=|>|<)/.test(source.slice(match.index + text.length)) ? 'label' : 'text';
    tokens.push({ kind, text, start: match.index });
  }
  return tokens;
}

export type CompletionContext = { kind: 'label'; prefix: string } | { kind: 'value'; label: string; prefix: string } | undefined;

/** What the cursor is in the middle of typing: a label name inside `{…}` or after `|`, or a value after `name="`. */
export function completionContext(beforeCursor: string): CompletionContext {
  const value = /([A-Za-z_][A-Za-z0-9_]*)\s*(=|!=|=~|!~)\s*"((?:[^"\\]|\\.)*)$/.exec(beforeCursor);
  if (value) return { kind: 'value', label: value[1], prefix: value[3] };
  const open = beforeCursor.lastIndexOf('{');
  const inSelector = open >= 0 && beforeCursor.lastIndexOf('}') < open;
  const label = /(?:^|[{,|]\s*)([A-Za-z_][A-Za-z0-9_]*)?$/.exec(beforeCursor);
  if (label && (inSelector || /\|\s*[A-Za-z_]*$/.test(beforeCursor)) && !/"$/.test(beforeCursor))
    return { kind: 'label', prefix: label[1] ?? '' };
  return undefined;
}

/** Offset of `line L, col C` (both from 1) in a source. */
export function offsetOf(source: string, line: number, column: number): number {
  const lines = source.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  return Math.min(offset + column - 1, source.length);
}

/** Where the server's parse error points (`parse error at line 1, col 12: …`), if it says. */
export function parseErrorPosition(message: string): { line: number; column: number } | undefined {
  const match = /line (\d+), col (\d+)/.exec(message);
  return match ? { line: Number(match[1]), column: Number(match[2]) } : undefined;
}
