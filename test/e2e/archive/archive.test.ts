import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { archiveLines } from '../../../src/archive/archiveVerify.js';
import type { ArchiveManifest } from '../../../src/archive/archiveManifest.js';
import { defaultKeyRingDir, KeyRing } from '../../../src/archive/keyRing.js';
import { defaultMasterKeyFile, MasterKey } from '../../../src/archive/masterKey.js';
import { compactLogColumns } from '../../../src/storage/engine/logColumns.js';
import { sealedLineOfRecord, sealedLinePlace } from '../../../src/storage/logs/sealedLogLine.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readAuditTrail, readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
// The archive's range lies in the current UTC month (one data key per tenant and month).
const monthStart = new Date(new Date().toISOString().slice(0, 7) + '-01T00:00:00Z');
const from = new Date(Math.max(Date.now() - 3600_000, monthStart.getTime())).toISOString();
const period = monthStart.toISOString().slice(0, 7);

/**
 * Values a rebuilt compact line must spell byte for byte as the writer did:
 * NUL and control characters, lone surrogates (stored well-formed), JSON
 * look-alikes, non-BMP text, and a big attribute map with integer-like keys
 * (which JavaScript objects reorder).
 */
const awkwardBodies = [
  'nul \u0000 bell \u0007 esc \u001b end',
  'high \ud800 low \udc00',
  '"],["x",1]\n{"tenant":"other"}\\',
  '🚀 日本語 naïve',
];
const awkwardAttributes = [
  ...Array.from({ length: 500 }, (_, i) => [`attr.${i}`, `value ${i} ✓`]),
  ['10', 'ten'],
  ['2', 'two'],
  ['k\u0000', 'v\u0000v'],
  ['🔑', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'],
].map(([key, value]) => ({ key, value: { stringValue: value } }));

let meshlog: RunningMeshlog;
let archiveDir: string;
let erasureId: string;

async function admin(method: string, path: string, body?: unknown, expected = 200): Promise<Record<string, unknown>> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, expected, `${path}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const serverFlags = () => ['--server', meshlog.url, '--token', meshlog.token];
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ArchiveManifest;
const dataKeyOf = (manifest: ArchiveManifest) =>
  new KeyRing(defaultKeyRingDir(meshlog.dataDir), () =>
    MasterKey.load({ file: defaultMasterKeyFile(meshlog.dataDir), create: false }),
  ).open(manifest.encryption.key_id);

before(async () => {
  meshlog = await startMeshlog();
  for (const [service, bodies] of [
    ['checkout', ['order 1 paid', 'order 2 paid', 'order 3 refunded']],
    ['catalog', ['catalog viewed', 'catalog searched']],
    ['checkout', ['order 4 paid by bob']],
  ] as const) {
    assert.equal(
      (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest(service, [...bodies]), { 'x-scope-orgid': 'acme' })).status,
      200,
    );
  }
  assert.equal(
    (
      await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('awkward', awkwardBodies, { attributes: awkwardAttributes }), {
        'x-scope-orgid': 'acme',
      })
    ).status,
    200,
  );
  assert.equal(
    (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', ['another tenant']), { 'x-scope-orgid': 'other' })).status,
    200,
  );
  // The catalog records erased on request: the archive carries their absence and its reason.
  const { request } = (await admin(
    'POST',
    '/api/v1/admin/erasure-requests',
    {
      tenant: 'acme',
      selector: '{service_name="catalog"}',
      from: new Date(Date.now() - 60_000).toISOString(),
      to: new Date().toISOString(),
      reason: 'DSR-10',
    },
    201,
  )) as { request: { id: string } };
  erasureId = request.id;
  await admin('POST', `/api/v1/admin/erasure-requests/${erasureId}/execute`);

  archiveDir = join(tempDataDir('meshlog-archive-'), 'acme');
  const exported = run(['archive', 'export', '--tenant', 'acme', '--from', from, '--out', archiveDir, ...serverFlags()]);
  assert.equal(exported.status, 0, exported.stderr);
  assert.match(exported.stdout, /^archive ar-[0-9a-f]{16}: 8 records of acme .* encrypted with data key acme\/\d{4}-\d{2}/);
});

after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('an exported archive verifies offline, and decrypts to the stored records as JSONEachRow objects whatever the batch format', async () => {
  const verified = run([
    'archive',
    'verify',
    archiveDir,
    '--data-dir',
    meshlog.dataDir,
    '--public-key',
    `${meshlog.dataDir}-signing.key.pub`,
  ]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  assert.match(
    verified.stdout,
    new RegExp(
      `^OK — archive ar-\\w+ of acme, 1 chain\\(s\\), \\d+ batches, 8 records checked, signed by meshlog-w-\\w+ \\(2 records erased by request ${erasureId}\\)$`,
      'm',
    ),
  );

  const manifest = readManifest(archiveDir);
  assert.equal(manifest.encryption.key_id, `acme/${period}`);
  const payload = readFileSync(join(archiveDir, manifest.payload.file));
  assert.equal(payload.includes(Buffer.from('order 1 paid')), false, 'the payload is encrypted');
  // The batches were sealed as JSONCompactEachRow arrays, and the manifest says so: verify passing above rebuilt each array.
  const batches = manifest.chains.flatMap((chain) => chain.batches);
  assert.ok(batches.length > 0 && batches.every((batch) => batch.line_format === 'JSONCompactEachRow'), JSON.stringify(batches));
  const archived: Record<string, unknown>[] = [];
  for await (const line of archiveLines(archiveDir, manifest, dataKeyOf(manifest))) {
    assert.ok(line.startsWith('{'), line.slice(0, 80));
    archived.push(JSON.parse(line) as Record<string, unknown>);
  }
  // Each record a JSONEachRow object with the logs columns as keys (as archives always had), not an array.
  for (const record of archived) {
    const expected = compactLogColumns.filter((column) => column !== 'pattern_id' && !column.startsWith('stream_'));
    assert.deepEqual(
      Object.keys(record).filter((key) => key !== 'pattern_id'),
      expected,
    );
  }
  assert.deepEqual(
    archived.map((record) => record.body).sort(),
    [...awkwardBodies.map((body) => body.toWellFormed()), 'order 1 paid', 'order 2 paid', 'order 3 refunded', 'order 4 paid by bob'].sort(),
  );
  const big = archived.find((record) => record.service_name === 'awkward')!.log_attributes as Record<string, string>;
  for (const { key, value } of awkwardAttributes) assert.equal(big[key], value.stringValue, key);

  // Without keys, signatures, seals and inclusion proofs still check.
  const structural = run(['archive', 'verify', archiveDir, '--no-decrypt']);
  assert.equal(structural.status, 0, structural.stdout + structural.stderr);
  assert.match(structural.stdout, /^OK .*records not checked/m);
  // Keys are kept outside the data directory.
  assert.ok(!defaultMasterKeyFile(meshlog.dataDir).startsWith(`${meshlog.dataDir}/`));
});

/**
 * A copy of the archive whose records someone holding the data key rewrote:
 * re-encrypted, the manifest's hash and tag updated (and `editManifest`
 * applied), but it cannot be re-signed. Returns the verify run.
 */
async function forgeRecords(
  name: string,
  editLines: (lines: string[]) => void,
  editManifest: (manifest: ArchiveManifest) => void = () => {},
): Promise<ReturnType<typeof run>> {
  const manifest = readManifest(archiveDir);
  const key = dataKeyOf(manifest);
  const dir = `${archiveDir}-${name}`;
  cpSync(archiveDir, dir, { recursive: true });
  const lines: string[] = [];
  for await (const line of archiveLines(archiveDir, manifest, key)) lines.push(line);
  editLines(lines);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(manifest.encryption.aad));
  const ciphertext = Buffer.concat([cipher.update(gzipSync(lines.join(''))), cipher.final()]);
  writeFileSync(join(dir, manifest.payload.file), ciphertext);
  const forged = structuredClone(manifest);
  forged.encryption.iv = iv.toString('base64');
  forged.encryption.tag = cipher.getAuthTag().toString('base64');
  forged.payload.sha256 = createHash('sha256').update(ciphertext).digest('hex');
  editManifest(forged);
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(forged, null, 2)}\n`);
  const verified = run(['archive', 'verify', dir, '--data-dir', meshlog.dataDir]);
  assert.match(verified.stdout, /^MANIFEST_SIGNATURE_INVALID: manifest.json: the manifest was changed after it was signed$/m);
  return verified;
}

/** Rewrites the one line holding `marker` and returns where it was sealed. */
function rewrite(lines: string[], marker: string, edit: (line: string) => string): ReturnType<typeof sealedLinePlace> {
  const target = lines.findIndex((line) => line.includes(marker));
  assert.ok(target >= 0, marker);
  const edited = edit(lines[target]);
  assert.notEqual(edited, lines[target]);
  lines[target] = edited;
  return sealedLinePlace(edited);
}

const modifiedAt = (place: ReturnType<typeof sealedLinePlace>) =>
  new RegExp(
    `^RECORD_MODIFIED chain=${place.chain_id} batch=${place.batch_seq} positions=${place.batch_pos}: 1 record\\(s\\) modified`,
    'm',
  );

test('an archive record changed in one value, or given an extra key, is caught offline', async () => {
  for (const [name, marker, edit] of [
    ['record', 'order 2 paid', (line: string) => line.replace('order 2 paid', 'order 2 never paid')],
    // One attribute of the big map of the record with a NUL in its body.
    ['attribute', 'bell', (line: string) => line.replace('"value 250 ✓"', '"value 251 ✓"')],
    ['nul', 'bell', (line: string) => line.replace('nul \\u0000', 'nul \\u0001')],
    // Values unchanged, a key added: not the sealed record either.
    ['extra-key', 'order 3 refunded', (line: string) => line.replace('"body":', '"approved_by":"mallory","body":')],
  ] as const) {
    let place: ReturnType<typeof sealedLinePlace> | undefined;
    const verified = await forgeRecords(name, (lines) => (place = rewrite(lines, marker, edit)));
    assert.equal(verified.status, 1, verified.stdout + verified.stderr);
    assert.match(verified.stdout, modifiedAt(place!), `${name}: ${verified.stdout}`);
    assert.equal(verified.stdout.match(/^RECORD_/gm)?.length, 1, `${name}: ${verified.stdout}`);
  }
});

test('an archive written when records were sealed arrays (no line_format) still verifies its records', async () => {
  const verified = await forgeRecords(
    'arrays',
    (lines) => lines.splice(0, lines.length, ...lines.map((line) => sealedLineOfRecord(line, 'JSONCompactEachRow'))),
    (manifest) => manifest.chains.forEach((chain) => chain.batches.forEach((batch) => delete batch.line_format)),
  );
  // Only the re-signing is missing: every record is its batch's sealed line.
  assert.doesNotMatch(verified.stdout, /^(RECORD|PAYLOAD|BATCH|CHAIN)_/m);
  assert.match(verified.stdout, /^FAILED: 1 finding\(s\) — .* 8 records checked/m);
});

test('a tampered archive is rejected: a changed manifest, changed ciphertext', async () => {
  const manifest = readManifest(archiveDir);

  // A changed manifest: one batch's sealed content hash rewritten.
  const changedManifest = `${archiveDir}-manifest`;
  cpSync(archiveDir, changedManifest, { recursive: true });
  const edited = structuredClone(manifest);
  edited.chains[0].batches[0].content_hash = 'f'.repeat(64);
  writeFileSync(join(changedManifest, 'manifest.json'), `${JSON.stringify(edited, null, 2)}\n`);
  const manifestRun = run(['archive', 'verify', changedManifest, '--data-dir', meshlog.dataDir]);
  assert.equal(manifestRun.status, 1, manifestRun.stdout + manifestRun.stderr);
  assert.match(manifestRun.stdout, /^MANIFEST_SIGNATURE_INVALID/m);
  assert.match(manifestRun.stdout, new RegExp(`^BATCH_ALTERED chain=\\S+ batch=${edited.chains[0].batches[0].batch_seq}:`, 'm'));

  // Flipped ciphertext: the hash and the authentication tag both fail.
  const changedBytes = `${archiveDir}-bytes`;
  cpSync(archiveDir, changedBytes, { recursive: true });
  const bytes = readFileSync(join(changedBytes, manifest.payload.file));
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  writeFileSync(join(changedBytes, manifest.payload.file), bytes);
  const bytesRun = run(['archive', 'verify', changedBytes, '--data-dir', meshlog.dataDir]);
  assert.equal(bytesRun.status, 1, bytesRun.stdout + bytesRun.stderr);
  assert.match(bytesRun.stdout, /^PAYLOAD_ALTERED/m);
  assert.match(bytesRun.stdout, /^PAYLOAD_UNDECRYPTABLE/m);

  // A different signer's key pinned: nothing verifies.
  const otherKey = run(['archive', 'verify', archiveDir, '--no-decrypt', '--public-key', 'someone+00000000+AQ' + 'A'.repeat(42) + '=']);
  assert.equal(otherKey.status, 1);
  assert.match(otherKey.stdout, /^MANIFEST_SIGNATURE_INVALID/m);
});

test('crypto-shredding a data key: the archive can no longer be decrypted, and the shredding is in the audit trail', async () => {
  const shred = run(['archive', 'shred', '--tenant', 'acme', '--period', period, '--reason', 'customer contract ended', ...serverFlags()]);
  assert.equal(shred.status, 0, shred.stderr);
  assert.match(shred.stdout, new RegExp(`^data key acme/${period} destroyed at \\S+ by bootstrap admin`));

  const ringFile = join(defaultKeyRingDir(meshlog.dataDir), `acme@${period}.json`);
  const tombstone = JSON.parse(readFileSync(ringFile, 'utf8')) as { wrapped: string | null; shredded: { by: string; reason: string } };
  assert.equal(tombstone.wrapped, null);
  assert.deepEqual(
    { by: tombstone.shredded.by, reason: tombstone.shredded.reason },
    { by: 'bootstrap admin', reason: 'customer contract ended' },
  );

  const verified = run(['archive', 'verify', archiveDir, '--data-dir', meshlog.dataDir]);
  assert.equal(verified.status, 2, verified.stdout + verified.stderr);
  assert.match(
    verified.stdout,
    new RegExp(
      `^CANNOT DECRYPT: the data key acme/${period} was crypto-shredded at \\S+ by bootstrap admin \\(customer contract ended\\): archives encrypted with it can no longer be decrypted$`,
      'm',
    ),
  );
  assert.throws(() => dataKeyOf(readManifest(archiveDir)), /crypto-shredded/);

  // No new archive under a destroyed key, and no second shredding.
  const again = run(['archive', 'export', '--tenant', 'acme', '--from', from, '--out', `${archiveDir}-again`, ...serverFlags()]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /409: .*crypto-shredded/);
  await admin('POST', '/api/v1/admin/archive-keys/shred', { tenant: 'acme', period, reason: 'again' }, 409);

  assert.equal(await meshlog.stop(), 0);
  const audit = await readAuditTrail<{ action: string; actor: string; target: string; detail: string }>(
    meshlog.dataDir,
    `SELECT log_attributes['audit.action'] AS action, log_attributes['audit.actor.name'] AS actor, log_attributes['audit.target'] AS target,
            log_attributes['audit.detail'] AS detail
     FROM meshlog.logs WHERE startsWith(action, 'archive.') ORDER BY timestamp`,
  );
  assert.deepEqual(
    audit.map((row) => [row.action, row.actor]),
    [
      ['archive.export', 'bootstrap admin'],
      ['archive.key_shred', 'bootstrap admin'],
    ],
  );
  const shredded = JSON.parse(audit[1].detail) as { reason: string; at: string };
  assert.equal(audit[1].target, `acme/${period}`);
  assert.equal(shredded.reason, 'customer contract ended');
  assert.ok(Date.parse(shredded.at) > 0);
  // The records themselves are untouched by shredding an archive key.
  const stored = await readCommitted<{ n: string }>(meshlog.dataDir, `SELECT count() AS n FROM meshlog.logs WHERE tenant = 'acme'`);
  assert.equal(Number(stored[0].n), 8);
});
