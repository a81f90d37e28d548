import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogRecord } from '../../../src/model/logRecord.js';
import { awkwardLogRecords, mesh, record } from '../../support/awkwardLogRecords.js';
import { compactLogColumns } from '../../../src/storage/engine/logColumns.js';
import { closeCompactLogRow, openCompactLogRow, storedCompactLogLine } from '../../../src/storage/logs/compactLogRow.js';
import { closeLogRow, openLogRow, type StoredLogRow } from '../../../src/storage/logs/logRows.js';
import { sealedLineOfRecord, sealedLinePlace, sealedLogLine } from '../../../src/storage/logs/sealedLogLine.js';

const position = { chainId: 'acmé/w-1', batchSeq: 42, batchPos: 7 };

const cases: [string, LogRecord][] = [
  ...awkwardLogRecords,
  ['a record with a pattern id and a stream position', record({ patternId: 'p1', stream: { seq: 9_007_199_254_740_991, pos: 4 } })],
];

/** The values of the JSONEachRow line of the same record, with the defaults of the columns it leaves out. */
function objectValues(input: LogRecord): Record<string, unknown> {
  const parsed = JSON.parse(closeLogRow(openLogRow(input), position)) as Record<string, unknown>;
  return { pattern_id: '', stream_seq: 0, stream_pos: 0, ...parsed };
}

for (const [name, input] of cases) {
  test(`a compact line holds, column by column, the values of the JSONEachRow line: ${name}`, () => {
    const line = closeCompactLogRow(openCompactLogRow(input), position);
    assert.ok(line.endsWith(']\n') && !line.slice(0, -1).includes('\n'), 'one line');
    const values = JSON.parse(line) as unknown[];
    assert.equal(values.length, compactLogColumns.length);
    assert.deepEqual(Object.fromEntries(compactLogColumns.map((column, i) => [column, values[i]])), objectValues(input));
    // The writer hands in the resource's JSON, serialized once for the records sharing it.
    assert.equal(openCompactLogRow(input, JSON.stringify(input.resource)), openCompactLogRow(input));
  });
}

test('the stored row rebuilds the compact line byte for byte, and the JSONEachRow line for a seal from before', () => {
  const input = record({ mesh, patternId: 'p1', stream: { seq: 12, pos: 3 } });
  const line = closeCompactLogRow(openCompactLogRow(input), position);
  const values = JSON.parse(line) as unknown[];
  const stored = Object.fromEntries(compactLogColumns.map((column, i) => [column, values[i]])) as unknown as StoredLogRow;
  assert.equal(storedCompactLogLine(stored), line);
  assert.equal(sealedLogLine(stored, 'JSONCompactEachRow'), line);
  assert.equal(sealedLogLine(stored), closeLogRow(openLogRow(input), position));
  // The engine may hand 64-bit values back as strings; a row from before migration 28 has no stream position.
  assert.equal(storedCompactLogLine({ ...stored, stream_seq: '12' }), line);
  const { stream_seq: _seq, stream_pos: _pos, ...unclustered } = stored;
  assert.equal(storedCompactLogLine(unclustered), closeCompactLogRow(openCompactLogRow({ ...input, stream: undefined }), position));
});

test('a changed stored value changes the rebuilt line', () => {
  const line = closeCompactLogRow(openCompactLogRow(record()), position);
  const values = JSON.parse(line) as unknown[];
  const stored = Object.fromEntries(compactLogColumns.map((column, i) => [column, values[i]])) as unknown as StoredLogRow;
  for (const changed of [
    { body: 'order 43 processed' },
    { log_attributes: { thread: 'worker-3' } },
    { batch_pos: 8 },
    { severity_number: 10 },
  ]) {
    assert.notEqual(storedCompactLogLine({ ...stored, ...changed }), line, JSON.stringify(changed));
  }
});

test('an archive reader places a sealed line of either format', () => {
  const input = record({ tenant: 'beta' });
  const expected = { tenant: 'beta', chain_id: position.chainId, batch_seq: 42, batch_pos: 7 };
  const compact = sealedLinePlace(closeCompactLogRow(openCompactLogRow(input), position));
  assert.deepEqual(compact, expected);
  const object = sealedLinePlace(closeLogRow(openLogRow(input), position));
  assert.deepEqual(
    { tenant: object.tenant, chain_id: object.chain_id, batch_seq: object.batch_seq, batch_pos: object.batch_pos },
    expected,
  );
});

test("a record handed out as its JSONEachRow object gives back its compact batch's sealed line, and only a canonical object does", () => {
  const input = record({
    mesh,
    patternId: 'p1',
    stream: { seq: 12, pos: 3 },
    body: 'nul \u0000 🚀',
    attributes: { '10': 'a', '2': 'b', 'k\u0000': 'v' },
  });
  const compact = closeCompactLogRow(openCompactLogRow(input), position);
  const object = closeLogRow(openLogRow(input), position);
  assert.equal(sealedLineOfRecord(object, 'JSONCompactEachRow'), compact);
  // A JSONEachRow batch sealed the object itself; an array (an archive from before) is the sealed line itself.
  assert.equal(sealedLineOfRecord(object, 'JSONEachRow'), object);
  assert.equal(sealedLineOfRecord(compact, 'JSONCompactEachRow'), compact);
  // An added key, a re-spelt value, a reordered key or no JSON at all is not rebuilt: returned as is, it fails its seal.
  for (const altered of [
    object.replace('"body":', '"injected":"x","body":'),
    object.replace('🚀', '\\ud83d\\ude80'),
    object.replace(/^\{("tenant":"[^"]*"),("timestamp":"\d+")/, '{$2,$1'),
    '{"tenant":',
    'null\n',
  ]) {
    assert.notEqual(altered, object);
    assert.equal(sealedLineOfRecord(altered, 'JSONCompactEachRow'), altered);
  }
});
