import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

// An independent verifier, written from RFC 9162 and C2SP signed-note, sharing no code with meshlog.
const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const node = (left: Buffer, right: Buffer) => sha256(Buffer.from([1]), left, right);
const lsb = (n: number) => (n & 1) === 1;

function verifyInclusion(index: number, size: number, leaf: Buffer, proof: Buffer[], root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = node(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}

function verifyConsistency(first: number, second: number, firstRoot: Buffer, secondRoot: Buffer, proof: Buffer[]): boolean {
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : proof;
  let fn = first - 1;
  let sn = second - 1;
  while (lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}

/** Checks a C2SP signed note with an Ed25519 verifier key; returns the checkpoint's size and root. */
function openNote(note: string, vkey: string): { origin: string; size: number; root: Buffer } {
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  const name = vkey.slice(0, first);
  const id = Buffer.from(vkey.slice(first + 1, second), 'hex');
  const key = Buffer.from(vkey.slice(second + 1), 'base64');
  assert.equal(key[0], 1, 'Ed25519 key type');
  const [text, signatures] = note.split('\n\n');
  const line = signatures.split('\n').find((candidate) => candidate.startsWith(`\u2014 ${name} `))!;
  const blob = Buffer.from(line.split(' ')[2], 'base64');
  assert.ok(blob.subarray(0, 4).equals(id), 'key id');
  const publicKey = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.subarray(1)]),
    format: 'der',
    type: 'spki',
  });
  assert.ok(verify(null, Buffer.from(`${text}\n`), publicKey, blob.subarray(4)), 'checkpoint signature');
  const [origin, size, root] = text.split('\n');
  return { origin, size: Number(size), root: Buffer.from(root, 'base64') };
}

async function api<T>(meshlog: RunningMeshlog, path: string): Promise<T> {
  const response = await fetch(`${meshlog.url}${path}`, { headers: { authorization: `Bearer ${meshlog.token}` } });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

async function ingestBatches(meshlog: RunningMeshlog, count: number, label: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('proofs', [`${label} ${i}`]));
    assert.equal(response.status, 200);
  }
}

test('inclusion and consistency proofs check out against signed checkpoints with an independent verifier', async () => {
  // Two server lifetimes: a checkpoint is signed at each stop, at tree sizes 3 and 7.
  const first = await startMeshlog();
  await ingestBatches(first, 3, 'early');
  assert.equal(await first.stop(), 0);
  const meshlog = await startMeshlog({ dataDir: first.dataDir });
  await ingestBatches(meshlog, 4, 'late');
  assert.equal(await meshlog.stop(), 0);
  const third = await startMeshlog({ dataDir: first.dataDir });
  try {
    const { verifierKey } = await api<{ verifierKey: string }>(third, '/api/v1/integrity/public-key');
    const { checkpoints: all } = await api<{ checkpoints: { chain: string; treeSize: number; note: string }[] }>(
      third,
      '/api/v1/integrity/checkpoints',
    );
    // The default tenant's chain; the audit trail has its own.
    const checkpoints = all.filter((checkpoint) => checkpoint.chain.startsWith('default/'));
    assert.deepEqual(
      checkpoints.map((checkpoint) => checkpoint.treeSize),
      [3, 7],
    );
    const chain = checkpoints[0].chain;
    const [small, large] = checkpoints.map((checkpoint) => openNote(checkpoint.note, verifierKey));
    assert.equal(small.origin, `meshlog/${chain}`);
    assert.equal(large.size, 7);

    for (let seq = 1; seq <= 7; seq++) {
      const proof = await api<{ leafIndex: number; treeSize: number; leafHash: string; proof: string[] }>(
        third,
        `/api/v1/integrity/proofs/inclusion?chain=${encodeURIComponent(chain)}&batch_seq=${seq}&tree_size=7`,
      );
      const path = proof.proof.map((hash) => Buffer.from(hash, 'hex'));
      assert.ok(
        verifyInclusion(proof.leafIndex, 7, Buffer.from(proof.leafHash, 'hex'), path, large.root),
        `batch ${seq} is in the signed tree`,
      );
      assert.ok(!verifyInclusion(proof.leafIndex, 7, sha256(Buffer.from('forged')), path, large.root), 'a different leaf is not');
    }

    const consistency = await api<{ proof: string[] }>(
      third,
      `/api/v1/integrity/proofs/consistency?chain=${encodeURIComponent(chain)}&from_size=3&to_size=7`,
    );
    const path = consistency.proof.map((hash) => Buffer.from(hash, 'hex'));
    assert.ok(verifyConsistency(3, 7, small.root, large.root, path), 'the 7-batch tree extends the 3-batch tree');
    assert.ok(!verifyConsistency(3, 7, sha256(Buffer.from('rewritten')), large.root, path), 'a rewritten past does not');

    // The API runs the same verification as the CLI, streamed.
    const verify = await fetch(`${third.url}/api/v1/integrity/verify`, { headers: { authorization: `Bearer ${third.token}` } });
    const lines = (await verify.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; ok?: boolean; records?: number });
    const summary = lines.find((line) => line.type === 'summary')!;
    assert.equal(summary.ok, true);
    assert.ok(summary.records! > 7, 'the 7 records and the audit trail');
  } finally {
    await third.stop();
  }
});

/** RFC 9162 §2.1.1 Merkle tree hash over leaf hashes. */
function treeHash(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return node(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

test('proofs from the cached trees of a running server stay correct as more batches arrive', async () => {
  const meshlog = await startMeshlog();
  const chain = `default/${readFileSync(join(meshlog.dataDir, 'writer-id'), 'utf8').trim()}`;
  const leaves: Buffer[] = [];
  const proveAll = async (size: number) => {
    const proofs = [];
    for (let seq = 1; seq <= size; seq++) {
      proofs.push(
        await api<{ leafIndex: number; treeSize: number; leafHash: string; rootHash: string; proof: string[] }>(
          meshlog,
          `/api/v1/integrity/proofs/inclusion?chain=${encodeURIComponent(chain)}&batch_seq=${seq}&tree_size=${size}`,
        ),
      );
    }
    proofs.forEach((proof, i) => {
      const leaf = Buffer.from(proof.leafHash, 'hex');
      if (leaves[i]) assert.ok(leaves[i].equals(leaf), `batch ${i + 1} keeps its leaf`);
      leaves[i] = leaf;
    });
    const root = treeHash(leaves.slice(0, size));
    for (const proof of proofs) {
      assert.equal(proof.treeSize, size);
      assert.ok(Buffer.from(proof.rootHash, 'hex').equals(root), `the root of ${size} batches`);
      const path = proof.proof.map((hash) => Buffer.from(hash, 'hex'));
      assert.ok(
        verifyInclusion(proof.leafIndex, size, Buffer.from(proof.leafHash, 'hex'), path, root),
        `batch ${proof.leafIndex + 1} in the tree of ${size}`,
      );
    }
  };
  const consistent = async (from: number, to: number) => {
    const answer = await api<{ fromRoot: string; toRoot: string; proof: string[] }>(
      meshlog,
      `/api/v1/integrity/proofs/consistency?chain=${encodeURIComponent(chain)}&from_size=${from}&to_size=${to}`,
    );
    assert.ok(Buffer.from(answer.fromRoot, 'hex').equals(treeHash(leaves.slice(0, from))));
    assert.ok(
      verifyConsistency(
        from,
        to,
        treeHash(leaves.slice(0, from)),
        treeHash(leaves.slice(0, to)),
        answer.proof.map((hash) => Buffer.from(hash, 'hex')),
      ),
      `${from} → ${to}`,
    );
  };
  try {
    await ingestBatches(meshlog, 3, 'first');
    await proveAll(3);
    await ingestBatches(meshlog, 2, 'second');
    await proveAll(5);
    await proveAll(3);
    await ingestBatches(meshlog, 6, 'third');
    await proveAll(11);
    await proveAll(5);
    await consistent(3, 11);
    await consistent(5, 11);
    await consistent(3, 5);
  } finally {
    assert.equal(await meshlog.stop(), 0);
  }
  // The leaves are the stored batch hashes, and the tree of 11 is the one the checkpoint at stop signed.
  const batches = await readCommitted<{ batch_hash: string }>(
    meshlog.dataDir,
    `SELECT batch_hash FROM meshlog.seal_batches WHERE chain_id = '${chain}' ORDER BY batch_seq`,
  );
  assert.deepEqual(
    leaves.map((leaf) => leaf.toString('hex')),
    batches.map((batch) => sha256(Buffer.from([0]), Buffer.from(batch.batch_hash, 'hex')).toString('hex')),
  );
  const [checkpoint] = await readCommitted<{ note: string }>(
    meshlog.dataDir,
    `SELECT note FROM meshlog.seal_checkpoints WHERE chain_id = '${chain}' ORDER BY tree_size DESC LIMIT 1`,
  );
  const signed = openNote(checkpoint.note, readFileSync(`${meshlog.dataDir}-signing.key.pub`, 'utf8').trim());
  assert.equal(signed.size, 11);
  assert.ok(signed.root.equals(treeHash(leaves)));
});
