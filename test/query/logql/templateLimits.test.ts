import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTemplate, TemplateExecError } from '../../../src/query/logql/lineTemplate.js';
import { templateOutputLimit } from '../../../src/query/logql/templateLimits.js';
import { expandGoReplacement, goRegex } from '../../../src/query/logql/goRegex.js';

const input = { labels: new Map([['app', 'a']]), line: 'x'.repeat(1000), timestampNs: '1700000000000000000' };
const run = (template: string) => compileTemplate(template)(input);

test('templates that would build a string past the limit or loop without end fail on the entry (TemplateFormatErr), before allocating', () => {
  const attacks = [
    '{{ repeat 100000000 "xxxxxxxxxx" }}',
    '{{ .app | indent 100000000 }}',
    '{{ .app | nindent 100000000 }}',
    '{{ printf "%0999999999d" 1 }}',
    '{{ printf "%-999999999s" "a" }}',
    '{{ alignLeft 999999999 .app }}',
    '{{ replace "" (repeat 2000 "y") __line__ }}',
    '{{ Replace __line__ "x" (repeat 5000 "y") -1 }}',
    '{{ Replace __line__ "x" (repeat 5000 "y") 900 }}',
    '{{ regexReplaceAll "x" __line__ (repeat 5000 "y") }}',
    '{{ regexReplaceAllLiteral "" __line__ (repeat 5000 "y") }}',
    `{{ regexReplaceAll "x+" __line__ "${'$0'.repeat(2000)}" }}`,
    '{{ range 1000000000 }}{{ end }}',
    '{{ range (mul 100000 100000) }}x{{ end }}',
    '{{ range (fromJson (printf "[%s0]" (repeat 200000 "0,"))) }}{{ end }}',
    `${'{{ __line__ }}'.repeat(1100)}`,
  ];
  for (const template of attacks) {
    const started = process.memoryUsage().rss;
    assert.throws(() => run(template), TemplateExecError, template);
    // No string near the limit's 100× was built on the way (a check after the fact would have allocated gigabytes).
    assert.ok(process.memoryUsage().rss - started < 256 * 1024 * 1024, template);
  }
});

test('templates within the limits give what Go gives', () => {
  assert.equal(run('{{ repeat 3 .app }}'), 'aaa');
  assert.equal(run('{{ .app | indent 2 }}'), '  a');
  assert.equal(run('{{ printf "%05d" 42 }}'), '00042');
  assert.equal(run('{{ range 3 }}x{{ end }}'), 'xxx');
  assert.equal(run('{{ replace "x" "yy" __line__ }}').length, 2000);
  // Go's strings.Replace with a count, an empty old string included (len + 1 places at most).
  assert.equal(run('{{ Replace "abc" "" "-" 10 }}'), '-a-b-c-');
  assert.equal(run('{{ Replace "abc" "" "-" 2 }}'), '-a-bc');
  assert.equal(run('{{ Replace "aaa" "a" "b" 2 }}'), 'bba');
  assert.equal(run('{{ Replace "a.b.c" "." "" -1 }}'), 'abc');
  // One pass over the line: a million replacements of a million-character line take no quadratic time.
  assert.equal(compileTemplate('{{ Replace __line__ "a" "b" 1000000 }}')({ ...input, line: 'a'.repeat(1_000_000) }), 'b'.repeat(1_000_000));
  assert.equal(run(`{{ repeat ${templateOutputLimit} "a" }}`).length, templateOutputLimit, 'exactly the limit is allowed');
  assert.throws(() => run(`{{ repeat ${templateOutputLimit + 1} "a" }}`), /longer than 1048576 characters/);
});

test("a regex replacement's expansion (label_replace, regexReplaceAll) is measured before it is built", () => {
  const match = goRegex('(.*)', { anchored: true }).exec('v'.repeat(10_000))!;
  assert.equal(expandGoReplacement('<$1>', match).length, 10_002);
  assert.throws(() => expandGoReplacement('$1'.repeat(200), match), /longer than 1048576 characters/);
});
