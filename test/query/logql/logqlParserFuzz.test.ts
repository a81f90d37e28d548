import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MeshlogError } from '../../../src/errors.js';
import { compilePipeline } from '../../../src/query/logql/pipeline.js';
import { maxNestingDepth, parseLogql } from '../../../src/query/logql/parser.js';

/**
 * Property: whatever the query text, parsing it (and compiling a log query's
 * stages, where its regexes are compiled) either succeeds or throws a
 * MeshlogError with status 400, and never takes long. A stack overflow, a
 * TypeError or a hang would be a 5xx or a frozen server.
 */
function parsesOrRefuses(query: string): void {
  // CPU time, not wall time: a hang burns CPU, a loaded machine only stretches the wall clock.
  const started = process.cpuUsage();
  try {
    const expr = parseLogql(query);
    if (expr.kind === 'log') {
      const run = compilePipeline(expr.stages);
      // Evaluated on a line that gives regexes something to chew on.
      run({ timestampNs: '0', line: `${'a'.repeat(2000)} msg=x level=info`, labels: new Map([['service_name', 'x']]) });
    }
  } catch (error) {
    if (!(error instanceof MeshlogError) || error.status !== 400) {
      assert.fail(`${JSON.stringify(query.slice(0, 200))} threw ${(error as Error).name}: ${(error as Error).message.slice(0, 300)}`);
    }
  }
  const used = process.cpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  assert.ok(ms < 2000, `${JSON.stringify(query.slice(0, 200))} took ${ms.toFixed(0)} ms of CPU`);
}

const fragments = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ',',
  '|',
  '|=',
  '|~',
  '!=',
  '!~',
  '=~',
  '=',
  '==',
  '>',
  '<=',
  '+',
  '-',
  '*',
  '/',
  '^',
  ' ',
  '"',
  '`',
  'sum',
  'rate',
  'count_over_time',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'json',
  'logfmt',
  'regexp',
  'pattern',
  'line_format',
  'label_format',
  'unwrap',
  'label_replace',
  'topk',
  'vector',
  'drop',
  'keep',
  'a',
  'service_name',
  '5m',
  '1h',
  '3',
  '0.5',
  '"x"',
  '"(a+)+b"',
  '"(?P<x>\\\\w+)"',
  '"<a> <_>"',
  '"{{.a}}"',
  '"[["',
  '"\\\\"',
];

test('fuzz: arbitrary strings given to the LogQL parser are parsed or refused with a 400, never anything else', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), parsesOrRefuses), { numRuns: 3000 });
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), parsesOrRefuses), { numRuns: 1000 });
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...fragments), { maxLength: 60 }).map((parts) => parts.join('')),
      parsesOrRefuses,
    ),
    { numRuns: 5000 },
  );
});

const regexChars = fc.constantFrom(
  'a',
  'b',
  '(',
  ')',
  '|',
  '*',
  '+',
  '?',
  '.',
  '[',
  ']',
  '^',
  '$',
  '\\',
  '{',
  '}',
  '1',
  ',',
  '(?P<x>',
  '(?i)',
  '\\w',
  '\\d',
  '{1000}',
  '(?=',
  '\\1',
);
const regex = fc.array(regexChars, { maxLength: 400 }).map((parts) => parts.join(''));
const quoted = (text: string) => JSON.stringify(text);

test('fuzz: valid-but-extreme queries (deep nesting, huge regexes, many matchers) are answered or refused with a 400, quickly', () => {
  // Deep nesting of every kind, on both sides of the limit.
  const nesting = fc.integer({ min: 1, max: 3 * maxNestingDepth });
  fc.assert(
    fc.property(nesting, fc.constantFrom('sum(', '(', 'label_replace(', '-', 'topk(1,', 'sort('), (depth, open) => {
      const close = open === '-' ? '' : open === 'label_replace(' ? ', "a", "$1", "b", "(.*)")' : ')';
      parsesOrRefuses(`${open.repeat(depth)}count_over_time({a="b"}[1m])${close.repeat(depth)}`);
    }),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(nesting, (depth) => parsesOrRefuses(`{a="b"} | ${'('.repeat(depth)}x="1"${')'.repeat(depth)}`)),
    { numRuns: 100 },
  );
  fc.assert(
    fc.property(nesting, fc.constantFrom('+', '^', ' or ', ' and '), (count, op) =>
      parsesOrRefuses(Array.from({ length: count }, () => 'vector(1)').join(op)),
    ),
    { numRuns: 100 },
  );
  // Huge and hostile regexes in every place a regex goes.
  fc.assert(
    fc.property(regex, fc.integer({ min: 1, max: 50 }), (pattern, repeat) => {
      const big = pattern.repeat(repeat);
      parsesOrRefuses(`{a=~${quoted(big)}}`);
      parsesOrRefuses(`{a="b"} |~ ${quoted(big)}`);
      parsesOrRefuses(`{a="b"} | logfmt | msg=~${quoted(big)}`);
      parsesOrRefuses(`{a="b"} | regexp ${quoted(`(?P<x>${big})`)}`);
      parsesOrRefuses(`{a="b"} | line_format ${quoted(`{{ regexReplaceAll ${quoted(big)} __line__ "$1" }}`)}`);
      parsesOrRefuses(`label_replace(rate({a="b"}[1m]), "d", "$1", "s", ${quoted(big)})`);
    }),
    { numRuns: 300 },
  );
  // Many matchers, filters and stages.
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), (count) => {
      parsesOrRefuses(`{${Array.from({ length: count }, (_, i) => `l${i}=~"v${i}|(a+)+b"`).join(',')}}`);
      parsesOrRefuses(`{a="b"} | ${Array.from({ length: count }, (_, i) => `l${i}=~"(a+)+b"`).join(' or ')}`);
      parsesOrRefuses(`{a="b"}${' |~ "(a|aa)*c"'.repeat(Math.min(count, 2000))}`);
    }),
    { numRuns: 30 },
  );
});
