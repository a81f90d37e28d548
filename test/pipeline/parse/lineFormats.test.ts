import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { detectAndParse } from '../../../src/pipeline/parse/detectFormat.js';
import type { ParsedLine } from '../../../src/pipeline/parse/parsedLine.js';

/** Golden fixtures: one file per format family, each case a real-looking line and everything its parser must find. */
const fixtures = new URL('../../../../test/fixtures/parsers/', import.meta.url);

interface GoldenCase {
  name: string;
  /** Where a line was taken from (repository, commit, file), for lines from public sources. */
  source?: string;
  line: string;
  expected: Omit<ParsedLine, 'message'> | null;
}

const files = readdirSync(fixtures).filter((file) => file.endsWith('.json'));
assert.ok(files.length >= 9, 'golden fixture files are present');

for (const file of files) {
  const cases = JSON.parse(readFileSync(new URL(file, fixtures), 'utf8')) as GoldenCase[];
  test(`golden lines: ${file}`, () => {
    for (const golden of cases) {
      const parsed = detectAndParse(golden.line, []);
      if (golden.expected === null) {
        assert.equal(parsed, undefined, `${golden.name}: matches no format and stays a plain body`);
        continue;
      }
      assert.ok(parsed, `${golden.name}: parsed`);
      const { message, ...fields } = parsed;
      assert.equal(message, undefined, `${golden.name}: body kept`);
      assert.deepEqual(fields, golden.expected, golden.name);
    }
  });
}
