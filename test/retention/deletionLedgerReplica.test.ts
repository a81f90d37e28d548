import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadOrCreateSigner } from '../../src/integrity/signedNote.js';
import type { LedgerReplica } from '../../src/model/ledgerReplica.js';
import { DeletionLedger, readDeletionLedger, type DisposalEntry } from '../../src/retention/deletionLedger.js';
import { testTempDir } from '../support/testTempDir.js';

const logger = pino({ level: 'silent' });

/** The bucket's content for one node, as the cluster's replica keeps it (numbered lines). */
function heldReplica(): LedgerReplica & { held: Map<number, string> } {
  const held = new Map<number, string>();
  return {
    held,
    put: async (number, line) => void held.set(number, line),
    lines: async () => [...held.entries()].sort(([a], [b]) => a - b).map(([, line]) => line),
  };
}

const disposal = (at: string): DisposalEntry => ({ kind: 'disposal', at, batches: [], events: [] });

function ledgerIn(dir: string) {
  const { signer } = loadOrCreateSigner(join(dir, 'signing.key'), 'node-a');
  return { signer, path: join(dir, 'deletions.ndjson') };
}

test('a ledger lost with its disk comes back from the replica, and checks', async () => {
  const dir = testTempDir('meshlog-ledger-');
  const { signer, path } = ledgerIn(dir);
  const replica = heldReplica();
  const ledger = new DeletionLedger(path, signer);
  await ledger.replicateTo(replica, logger);
  ledger.append(disposal('2026-12-01T00:00:00.000Z'));
  ledger.append(disposal('2026-12-02T00:00:00.000Z'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(replica.held.size, 2);
  const before = readFileSync(path, 'utf8');
  rmSync(path);
  const again = new DeletionLedger(path, signer);
  await again.replicateTo(replica, logger);
  assert.equal(readFileSync(path, 'utf8'), before);
  assert.equal(readDeletionLedger(path, signer.verifierKey).length, 2);
  // The restored ledger continues its chain.
  again.append(disposal('2026-12-03T00:00:00.000Z'));
  assert.equal(readDeletionLedger(path, signer.verifierKey).length, 3);
});

test('a forged line in the replica is refused: the file is not restored from it', async () => {
  const dir = testTempDir('meshlog-ledger-');
  const { signer, path } = ledgerIn(dir);
  const replica = heldReplica();
  const ledger = new DeletionLedger(path, signer);
  await ledger.replicateTo(replica, logger);
  ledger.append(disposal('2026-12-01T00:00:00.000Z'));
  ledger.append(disposal('2026-12-02T00:00:00.000Z'));
  await new Promise((resolve) => setImmediate(resolve));
  // The second line's entry changed, its signature and chain kept: it no longer verifies.
  const forged = JSON.parse(replica.held.get(2)!) as { entry: DisposalEntry };
  forged.entry.at = '2030-01-01T00:00:00.000Z';
  replica.held.set(2, JSON.stringify(forged));
  rmSync(path);
  await new DeletionLedger(path, signer).replicateTo(replica, logger);
  assert.equal(readFileSync(path, 'utf8'), '', 'nothing taken from a replica that does not check');
  // Signed by another key: refused too.
  const other = loadOrCreateSigner(join(testTempDir('meshlog-ledger-'), 'signing.key'), 'node-x').signer;
  const foreign = heldReplica();
  const elsewhere = new DeletionLedger(join(testTempDir('meshlog-ledger-'), 'deletions.ndjson'), other);
  await elsewhere.replicateTo(foreign, logger);
  elsewhere.append(disposal('2026-12-01T00:00:00.000Z'));
  await new Promise((resolve) => setImmediate(resolve));
  rmSync(path);
  await new DeletionLedger(path, signer).replicateTo(foreign, logger);
  assert.equal(readFileSync(path, 'utf8'), '');
});

test('lines the replica lacks are put there at start; a replica that does not continue the file changes neither', async () => {
  const dir = testTempDir('meshlog-ledger-');
  const { signer, path } = ledgerIn(dir);
  const ledger = new DeletionLedger(path, signer);
  ledger.append(disposal('2026-12-01T00:00:00.000Z'));
  ledger.append(disposal('2026-12-02T00:00:00.000Z'));
  const replica = heldReplica();
  await new DeletionLedger(path, signer).replicateTo(replica, logger);
  assert.deepEqual(await replica.lines(), readFileSync(path, 'utf8').split('\n').filter(Boolean));
  const divergent = heldReplica();
  await divergent.put(1, 'not this ledger');
  await divergent.put(2, 'nor this');
  await divergent.put(3, 'a third');
  const before = readFileSync(path, 'utf8');
  await new DeletionLedger(path, signer).replicateTo(divergent, logger);
  assert.equal(readFileSync(path, 'utf8'), before);
  assert.deepEqual(await divergent.lines(), ['not this ledger', 'nor this', 'a third']);
});
