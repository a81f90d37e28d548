import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** test/fixtures/parsers/, from dist/test/support/ where this runs. */
const fixtures = new URL('../../../test/fixtures/parsers/', import.meta.url);

/**
 * Golden lines from public sources (credited in the fixture files), looked up
 * by a marker: `lineWith('"grpc_status":"OK"')` is the first line holding it.
 */
export function goldenLines(files: string[]): (marker: string) => string {
  const golden = files.flatMap((file) =>
    (JSON.parse(readFileSync(new URL(file, fixtures), 'utf8')) as { line: string }[]).map((entry) => entry.line),
  );
  return (marker) => {
    const line = golden.find((candidate) => candidate.includes(marker));
    assert.ok(line, `a fixture line contains ${marker}`);
    return line;
  };
}
