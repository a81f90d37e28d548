import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashBatchBytes, hashBatchContent } from '../../../src/integrity/batchSeal.js';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { LogLineEncoder } from '../../../src/storage/logs/logLineEncoder.js';
import { closeLogRow, closingPrefix, openLogRow } from '../../../src/storage/logs/logRows.js';

const bodies = [
  'plain ascii line',
  'naïve café — ünïcödé, 日本語のログ, emoji 🚀',
  'quotes " and \\ backslashes\nand a newline\tand a tab',
  `lone surrogate \ud800 in the middle`,
  'x'.repeat(200_000),
];

function openRows(): string[] {
  return bodies.map((body, i) =>
    openLogRow(newLogRecord({ tenant: i % 2 ? 'acmé' : 'default', body, receiver: 'otlp_http', attributes: { clé: `valeur ${i} ✓` } })),
  );
}

test('the encoder writes exactly the UTF-8 of the closed lines, and where each ends, even when it has to grow', () => {
  const rows = openRows();
  // A first size far too small: the long and non-ASCII lines make it grow several times.
  const encoder = new LogLineEncoder(16);
  const prefix = closingPrefix('acmé/w-1', 42);
  const ends = rows.map((row, pos) => encoder.append(row, prefix, pos));
  const lines = rows.map((row, pos) => closeLogRow(row, { chainId: 'acmé/w-1', batchSeq: 42, batchPos: pos }));
  assert.deepEqual(encoder.bytes(), Buffer.from(lines.join('')));
  let start = 0;
  ends.forEach((end, pos) => {
    assert.equal(encoder.bytes().subarray(start, end).toString('utf8'), lines[pos]);
    start = end;
  });
  assert.equal(encoder.offset, encoder.bytes().length);
});

test('hashes over the encoded bytes equal the hashes verify computes over the stored lines', () => {
  const rows = openRows();
  const encoder = new LogLineEncoder(0);
  const prefix = closingPrefix('default/w-1', 7);
  const ends = Uint32Array.from(rows.map((row, pos) => encoder.append(row, prefix, pos)));
  const lines = rows.map((row, pos) => closeLogRow(row, { chainId: 'default/w-1', batchSeq: 7, batchPos: pos }));
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
