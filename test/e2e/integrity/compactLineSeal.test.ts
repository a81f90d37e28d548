import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { recentLines } from '../../support/lokiCall.js';
import { postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted, runStatements } from '../../support/storageReader.js';

/**
 * The writer seals and inserts JSONCompactEachRow lines: records with every
 * awkward value must come back byte for byte through a query, verify clean
 * from the stored rows, and one changed row must still be named.
 */

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

const deepJson = `${'{"a":['.repeat(200)}"deep"${']}'.repeat(200)}`;
const hugeAttributes = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`attr.${i}`, `value ${i} ✓`]));
const awkward: { name: string; body: string; attributes: Record<string, string> }[] = [
  { name: 'nul and control characters', body: 'nul \u0000 bell \u0007 esc \u001b del \u007f end', attributes: { 'k\u0000': 'v\u0000v' } },
  { name: 'lone surrogates', body: 'high \ud800 low \udc00 reversed \udc00\ud800', attributes: { surrogate: 'x' } },
  { name: 'quotes, brackets and separators', body: '"],["x",1]\n{"tenant":"other"}\\', attributes: { '"]': '[",' } },
  { name: 'a huge attribute map', body: 'two thousand attributes', attributes: hugeAttributes },
  { name: 'a 1 MiB body', body: `${'é'.repeat(512 * 1024)}`, attributes: { size: '1MiB' } },
  { name: 'deep JSON', body: deepJson, attributes: { json: deepJson } },
  { name: 'non-BMP text', body: '🚀 日本語 naïve', attributes: { '🔑': '𝔘𝔫𝔦𝔠𝔬𝔡𝔢' } },
];

/** Through OTLP/JSON, whose strings carry any UTF-16 (lone surrogates included) the way JavaScript senders produce them. */
function request(record: (typeof awkward)[number]): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'awkward' } }] },
        scopeLogs: [
          {
            logRecords: [
              {
                body: { stringValue: record.body },
                severityNumber: 9,
                attributes: Object.entries(record.attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
              },
            ],
          },
        ],
      },
    ],
  });
}

let dataDir: string;
let publicKey: string;
let sentLines: string[];
let queriedLines: string[];

before(async () => {
  const meshlog = await startMeshlog();
  for (const record of awkward) {
    const response = await postOtlpJson(meshlog.url, meshlog.token, request(record), { 'x-scope-orgid': 'acme' });
    assert.equal(response.status, 200, `${record.name}: ${await response.text()}`);
  }
  sentLines = awkward.map((record) => record.body.toWellFormed());
  queriedLines = await recentLines(meshlog, 'acme', '{service_name="awkward"}');
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  dataDir = meshlog.dataDir;
  publicKey = `${dataDir}-signing.key.pub`;
});

function verify(dir: string): { status: number | null; findings: { kind: string; positions?: number[] }[] } {
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dir, '--public-key', publicKey, '--output', 'json'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.notEqual(run.status, 2, run.stderr);
  return { status: run.status, findings: (JSON.parse(run.stdout) as { findings: { kind: string; positions?: number[] }[] }).findings };
}

test('records with awkward values are sealed as JSONCompactEachRow lines', async () => {
  const formats = await readCommitted<{ line_format: string; n: string }>(
    dataDir,
    `SELECT line_format, toString(count()) AS n FROM meshlog.seal_batches WHERE tenant = 'acme' GROUP BY line_format`,
  );
  assert.deepEqual(formats, [{ line_format: 'JSONCompactEachRow', n: String(awkward.length) }]);
});

test('every awkward body comes back byte for byte through a query (a lone surrogate as U+FFFD, as stored)', () => {
  assert.deepEqual([...queriedLines].sort(), [...sentLines].sort());
});

test('every awkward attribute map is stored as sent', async () => {
  const rows = await readCommitted<{ body: string; log_attributes: Record<string, string> }>(
    dataDir,
    `SELECT body, log_attributes FROM meshlog.logs WHERE tenant = 'acme' ORDER BY batch_seq`,
  );
  assert.equal(rows.length, awkward.length);
  awkward.forEach((record, i) => {
    assert.equal(rows[i].body, sentLines[i], record.name);
    const expected = Object.fromEntries(
      Object.entries(record.attributes).map(([key, value]) => [key.toWellFormed(), value.toWellFormed()]),
    );
    // The pipeline adds its own (meshlog.parse_status, fields parsed from a JSON body): the sender's are all there, unchanged.
    const stored = Object.fromEntries(Object.keys(expected).map((key) => [key, rows[i].log_attributes[key]]));
    assert.deepEqual(stored, expected, record.name);
  });
});

test('the store verifies clean from the stored rows', () => {
  const { status, findings } = verify(dataDir);
  assert.deepEqual(findings, []);
  assert.equal(status, 0);
});

test('one changed byte in an awkward stored row is named as a modified record', async () => {
  const copy = tempDataDir('meshlog-compact-tamper-');
  cpSync(dataDir, copy, { recursive: true });
  cpSync(`${dataDir}-storage.keys`, `${copy}-storage.keys`);
  await runStatements(copy, [
    `ALTER TABLE meshlog.logs UPDATE log_attributes = mapUpdate(log_attributes, map('attr.1999', 'value 1999 ✗'))
     WHERE tenant = 'acme' AND mapContains(log_attributes, 'attr.1999')`,
  ]);
  const { status, findings } = verify(copy);
  assert.equal(status, 1);
  assert.deepEqual(
    findings.map((finding) => [finding.kind, finding.positions]),
    [['record_modified', [0]]],
  );
});
