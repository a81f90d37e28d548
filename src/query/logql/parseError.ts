import { MeshlogError } from '../../errors.js';

/** A LogQL syntax error: where (offset, line, column) and what was expected instead of what was found. */
export class LogqlParseError extends MeshlogError {
  readonly pos: number;
  readonly line: number;
  readonly column: number;
  readonly expected: string;

  constructor(source: string, pos: number, expected: string, found: string) {
    const before = source.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    super('ML_QUERY_PARSE', `parse error at line ${line}, col ${column}: expected ${expected}, found ${found}`);
    this.pos = pos;
    this.line = line;
    this.column = column;
    this.expected = expected;
  }
}
