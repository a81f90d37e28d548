import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashBatchBytes, hashBatchContent } from '../../../src/integrity/batchSeal.js';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { compactClosingPrefixBytes, LogLineEncoder, OpenRowEncoder } from '../../../src/storage/logs/logLineEncoder.js';
import { closeCompactLogRow, openCompactLogRow } from '../../../src/storage/logs/compactLogRow.js';

const bodies = [
  'plain ascii line',
  'naïve café — ünïcödé, 日本語のログ, emoji 🚀',
  'quotes " and \\ backslashes\nand a newline\tand a tab',
  `lone surrogate \ud800 in the middle`,
  'x'.repeat(200_000),
];

function openRows(): string[] {
  return bodies.map((body, i) =>
    openCompactLogRow(
      newLogRecord({ tenant: i % 2 ? 'acmé' : 'default', body, receiver: 'otlp_http', attributes: { clé: `valeur ${i} ✓` } }),
    ),
  );
}

/** The rows encoded as a write queues them, with a first size far too small so the buffer grows several times. */
function encodedRows(rows: string[], expectedBytes = 16) {
  const encoder = new OpenRowEncoder(rows.length, expectedBytes);
  for (const row of rows) encoder.append(row);
  return encoder.finish();
}

test('queued rows are the UTF-8 of the open rows, back to back, with where each ends, even when the buffer has to grow', () => {
  const rows = openRows();
  const { bytes, ends } = encodedRows(rows);
  assert.deepEqual(bytes, Buffer.from(rows.join('')));
  assert.deepEqual(
    [...ends],
    rows.map((_, i) => Buffer.byteLength(rows.slice(0, i + 1).join(''))),
  );
  // A first size far too large is not what the queue holds on to.
  const generous = encodedRows(rows.slice(0, 1), 1 << 20);
  assert.deepEqual(generous.bytes, Buffer.from(rows[0]));
  assert.ok(generous.bytes.buffer.byteLength < 1 << 16, `${generous.bytes.buffer.byteLength} bytes held for ${rows[0].length}`);
});

test('the encoder writes exactly the UTF-8 of the closed lines, and where each ends, even when it has to grow', () => {
  const rows = openRows();
  const queued = encodedRows(rows);
  const encoder = new LogLineEncoder(0);
  const prefix = compactClosingPrefixBytes('acmé/w-1', 42);
  // Batch positions of every width, as `${pos}` spells them.
  const positions = [0, 9, 10, 1234567, 4_294_967_295];
  const ends = rows.map((_, i) => encoder.append(queued, i, prefix, positions[i]));
  const lines = rows.map((row, i) => closeCompactLogRow(row, { chainId: 'acmé/w-1', batchSeq: 42, batchPos: positions[i] }));
  assert.deepEqual(encoder.bytes(), Buffer.from(lines.join('')));
  let start = 0;
  ends.forEach((end, pos) => {
    assert.equal(encoder.bytes().subarray(start, end).toString('utf8'), lines[pos]);
    start = end;
  });
  assert.equal(encoder.offset, encoder.bytes().length);
});

test('rows of several queued writes, taken in any order, close into the lines closeCompactLogRow gives', () => {
  const rows = openRows();
  const first = encodedRows(rows.slice(0, 2));
  const second = encodedRows(rows.slice(2));
  const encoder = new LogLineEncoder(8);
  const prefix = compactClosingPrefixBytes('default/w-1', 3);
  encoder.append(second, 1, prefix, 0);
  encoder.append(first, 1, prefix, 1);
  encoder.append(second, 0, prefix, 2);
  const expected = [rows[3], rows[1], rows[2]].map((row, pos) =>
    closeCompactLogRow(row, { chainId: 'default/w-1', batchSeq: 3, batchPos: pos }),
  );
  assert.equal(encoder.bytes().toString('utf8'), expected.join(''));
});

test('hashes over the encoded bytes equal the hashes verify computes over the stored lines', () => {
  const rows = openRows();
  const queued = encodedRows(rows);
  const encoder = new LogLineEncoder(0);
  const prefix = compactClosingPrefixBytes('default/w-1', 7);
  const ends = Uint32Array.from(rows.map((_, pos) => encoder.append(queued, pos, prefix, pos)));
  const lines = rows.map((row, pos) => closeCompactLogRow(row, { chainId: 'default/w-1', batchSeq: 7, batchPos: pos }));
  assert.deepEqual(hashBatchBytes(encoder.bytes(), ends), hashBatchContent(lines));
  // A changed byte changes the content hash and that line's fingerprint only.
  const tampered = Buffer.from(encoder.bytes());
  tampered[ends[1] + 20] ^= 1;
  const after = hashBatchBytes(tampered, ends);
  const before = hashBatchContent(lines);
  assert.notEqual(after.contentHash, before.contentHash);
  assert.deepEqual(
    after.fingerprints.map((fingerprint, pos) => fingerprint !== before.fingerprints[pos]),
    [false, false, true, false, false],
  );
});
