import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { lineDiff } from '../../../src/policy/policyDiff.js';
import { maxPolicyBytes, parsePolicy } from '../../../src/policy/policyFile.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/** `meshlog policy check` as a user's CI runs it: offline, a bare environment, the exit status and the lines it names. */
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const docs = fileURLToPath(new URL('../../../../docs/policy.md', import.meta.url));
const dir = tempDataDir('meshlog-policy-check-');

const check = (file: string) =>
  spawnSync(process.execPath, [cli, 'policy', 'check', file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });

/** The first ```yaml block after the "A complete example" heading of docs/policy.md. */
function documentedExample(): string {
  const text = readFileSync(docs, 'utf8');
  const section = text.slice(text.indexOf('## A complete example'));
  const match = /```yaml\n([\s\S]*?)```/.exec(section);
  assert.ok(match, 'docs/policy.md has a complete example');
  return match[1]!;
}

test('the complete example of docs/policy.md passes policy check with exit 0 and a summary', () => {
  const file = join(dir, 'example.yaml');
  writeFileSync(file, documentedExample());
  const result = check(file);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /valid logging policy for tenant acme, version 2026-12-07\.1/);
  assert.match(result.stdout, /2 required sources, 3 retention selectors/);
  assert.match(result.stdout, /2 segregation-of-duties rules, 1 role limits, erasures by 2 people; 3 required alert rules/);
});

test('policy check exits 1 on a bad file and names the line, column and key of each problem', () => {
  const bad = documentedExample()
    .replace('max_age: 400d', 'max_age: forever')
    .replace('roles: [admin, auditor]', 'roles: [admin, root]')
    .replace('owner: compliance@acme.example', 'ownr: compliance@acme.example');
  const lines = bad.split('\n');
  const lineOf = (needle: string) => lines.findIndex((line) => line.includes(needle)) + 1;
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, bad);
  const result = check(file);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.ok(
    result.stderr.includes(`${file}:${lineOf('max_age: forever')}:14: retention.0.max_age: a duration such as 30d or 12h`),
    result.stderr,
  );
  assert.ok(result.stderr.includes(`${file}:${lineOf('ownr:')}:1: ownr: Unrecognized key`), result.stderr);
  assert.ok(
    result.stderr.includes(`${file}:${lineOf('[admin, root]')}:`) && result.stderr.includes('access.segregation_of_duties.0.roles.1'),
    result.stderr,
  );
  // A missing key is placed at the start of the map that lacks it.
  assert.ok(result.stderr.includes(`${file}:${lineOf('policy_format:')}:1: owner: required, and missing`), result.stderr);
  assert.match(result.stderr, /4 problems; nothing applied/);
  // Cross-references are checked once the file is otherwise valid.
  const dangling = documentedExample().replace('  - source: payments\n', '  - source: billing\n');
  writeFileSync(file, dangling);
  const again = check(file);
  assert.equal(again.status, 1);
  const line = dangling.split('\n').findIndex((text) => text.includes('source: billing')) + 1;
  assert.ok(again.stderr.includes(`${file}:${line}:13: alert_coverage.1.source: no required source is named "billing"`), again.stderr);
});

test('policy check exits 1 on broken YAML and a duplicated key, with their lines', () => {
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'policy_format: 1\ntenant: acme\ntenant: globex\nretention: [ { selector: { service: a }\n');
  const result = check(file);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /broken\.yaml:3:1: Map keys must be unique/);
  assert.match(result.stderr, /broken\.yaml:[45]:\d+: /);
});

test('an alias bomb, an oversized file and a non-map document are problems, never a crash', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x]',
    ...Array.from(
      { length: 9 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
    ),
  ].join('\n');
  for (const [what, text] of [
    ['alias bomb', bomb],
    ['oversized', `description: ${'x'.repeat(maxPolicyBytes)}`],
    ['a list', '- 1\n- 2\n'],
    ['a scalar', 'hello'],
    ['empty', ''],
  ] as const) {
    const parsed = parsePolicy(text);
    assert.equal(parsed.ok, false, what);
    if (!parsed.ok)
      assert.ok(
        parsed.problems.length > 0 && parsed.problems.every((problem) => problem.line >= 1 && problem.column >= 1),
        `${what}: ${JSON.stringify(parsed.problems)}`,
      );
  }
});

test('the change diff lists removed then added lines with their line numbers, and a first version as all added', () => {
  assert.deepEqual(lineDiff('a\nb\nc', 'a\nB\nc\nd'), ['-2: b', '+2: B', '+4: d']);
  assert.deepEqual(lineDiff('', 'a\nb'), ['+1: a', '+2: b']);
  assert.deepEqual(lineDiff('same\n', 'same\n'), []);
});
