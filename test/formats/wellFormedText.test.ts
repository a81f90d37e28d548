import assert from 'node:assert/strict';
import { test } from 'node:test';
import { holdsEncodedSurrogate, parseWellFormedJson, watchEncodedSurrogates, wellFormedValue } from '../../src/formats/wellFormedText.js';
import { storageError, storageOutage } from '../../src/storage/engine/storageError.js';

test('JSON with lone surrogate escapes parses to well-formed strings, keys included; valid pairs and plain text are kept', () => {
  const parsed = parseWellFormedJson(
    String.raw`{"a\udc00":["x\ud800y",{"k":"\ud83d\ude00","n":1,"z":null}],"__proto__":"\udfff"}`,
  ) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['a\uFFFD', '__proto__']);
  assert.deepEqual(parsed['a\uFFFD'], ['x\uFFFDy', { k: '😀', n: 1, z: null }]);
  assert.equal(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value, '\uFFFD', '__proto__ stays an own key');
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  // An escaped backslash before "ud800" is text, not an escape: unchanged.
  assert.deepEqual(parseWellFormedJson(String.raw`["\\ud800"]`), ['\\ud800']);
  const plain = parseWellFormedJson('{"a":"b"}');
  assert.deepEqual(plain, { a: 'b' });
});

test('decoded values that are not plain objects are kept as they are', () => {
  class EventTime {
    constructor(readonly seconds: number) {}
  }
  const bytes = new Uint8Array([1, 2]);
  const time = new EventTime(5);
  const [kept, keptTime] = wellFormedValue([bytes, time, '\ud800'] as const);
  assert.equal(kept, bytes);
  assert.equal(keptTime, time);
  assert.deepEqual(wellFormedValue(['\ud800']), ['\uFFFD']);
  // As deep as any input: the walk does not recurse.
  const deep = parseWellFormedJson(`${'['.repeat(50_000)}"\\ud800"${']'.repeat(50_000)}`);
  let inner: unknown = deep;
  while (Array.isArray(inner)) inner = inner[0];
  assert.equal(inner, '\uFFFD');
});

test('CESU-8 surrogate bytes are found in one buffer and across two chunks, and valid UTF-8 with ED is not flagged', async () => {
  assert.equal(holdsEncodedSurrogate(Buffer.from([0x61, 0xed, 0xa0, 0x80])), true);
  assert.equal(holdsEncodedSurrogate(Buffer.from('한국어 \ud7ff', 'utf8')), false, 'ED 9F BF (U+D7FF) is valid UTF-8');
  assert.equal(holdsEncodedSurrogate(Buffer.from([0xed])), false);
  const seen = { value: false };
  async function* chunks() {
    yield Buffer.from([0x61, 0xed]);
    yield Buffer.from([0xb0, 0x80]);
  }
  const passed: number[] = [];
  for await (const chunk of watchEncodedSurrogates(chunks(), seen)) passed.push(...chunk);
  assert.deepEqual(passed, [0x61, 0xed, 0xb0, 0x80], 'chunks pass unchanged');
  assert.equal(seen.value, true);
});

test("a storage outage tells the client ClickHouse's code and an error id, never the engine's text (which quotes rows of other requests)", () => {
  const engine = new Error(
    'Code: 241. DB::Exception: Memory limit exceeded\nRow 1:\nColumn 6, name: body, parsed text: "another tenant secret"',
  );
  const outage = storageOutage(storageError(engine));
  assert.equal(outage.code, 'ML_UNAVAILABLE');
  assert.equal(outage.retryable, true);
  assert.match(outage.message, /^storage unavailable, retry later: engine error 241 \(error id [0-9a-f]{12}\)$/);
  assert.doesNotMatch(outage.message, /secret/);
  // Code 25 (CANNOT_PARSE_ESCAPE_SEQUENCE) is the data's fault: refused, so resending is not asked for.
  assert.equal((storageError(new Error('Code: 25. DB::Exception: Cannot parse escape sequence')) as { kind?: string }).kind, 'refused');
});
