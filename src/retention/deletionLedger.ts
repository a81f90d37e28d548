import { createHash, sign, verify } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseVerifierKey, type NoteSigner } from '../integrity/signedNote.js';
import type { ErasedBatch, ErasurePlan, ErasureRequest } from '../storage/stores/erasureStore.js';
import type { LegalHold } from '../storage/stores/retentionStore.js';
import type { SealEvent } from '../storage/logs/sealStore.js';

/** An erasure as it was about to run: enough to run it again on a restored copy. */
export interface ErasureEntry {
  kind: 'erasure';
  at: string;
  trigger: string;
  executedBy: string;
  /** The request as filed (its scope and receipt). */
  request: ErasureRequest;
  plan: ErasurePlan;
  /** Legal holds active then: what the erasure spared stays spared. */
  holds: LegalHold[];
  events: SealEvent[];
  /** In a cluster: the record stream up to this instant is covered (the first execution, on any node); absent before. */
  streamCoveredUntil?: string;
}

export interface DisposalEntry {
  kind: 'disposal';
  at: string;
  batches: ErasedBatch[];
  events: SealEvent[];
}

export type DeletionEntry = ErasureEntry | DisposalEntry;

interface LedgerLine {
  entry: DeletionEntry;
  /** SHA-256 of the previous line ('' for the first): a line taken out breaks the chain. */
  prev: string;
  /** Ed25519 signature over `{"entry":…,"prev":…}` by the checkpoint signing key. */
  sig: string;
}

/** Beside the data directory, never inside it: a backup of the data holds the ledger's past, never its present. */
export function defaultDeletionLedgerFile(dataDir: string): string {
  return `${resolve(dataDir)}-deletions.ndjson`;
}

const lineHash = (line: string) => createHash('sha256').update(line).digest('hex');

/**
 * Every erasure and disposal, appended (and synced) before anything is
 * deleted, hash-chained and signed. Data restored from an older backup has
 * every entry re-applied, so a restore never brings back what was erased or
 * disposed of after the backup was taken.
 */
export class DeletionLedger {
  private prev: string;

  constructor(
    readonly path: string,
    private readonly signer: NoteSigner,
  ) {
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    this.prev = lines.length > 0 ? lineHash(lines[lines.length - 1]) : '';
  }

  append(entry: DeletionEntry): void {
    const body = JSON.stringify({ entry, prev: this.prev });
    const line = JSON.stringify({
      entry,
      prev: this.prev,
      sig: sign(null, Buffer.from(body), this.signer.privateKey).toString('base64'),
    } satisfies LedgerLine);
    const fd = openSync(this.path, 'a', 0o600);
    try {
      writeSync(fd, `${line}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.prev = lineHash(line);
  }
}

/** The entries of a ledger, after checking its chain and (with a verifier key) every signature; throws naming the first bad line. */
export function readDeletionLedger(path: string, verifierKey: string | undefined): DeletionEntry[] {
  const publicKey = verifierKey ? parseVerifierKey(verifierKey).publicKey : undefined;
  let prev = '';
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((text, i) => {
      const line = JSON.parse(text) as LedgerLine;
      if (line.prev !== prev) throw new Error(`${path} line ${i + 1}: the chain is broken (a line before it was removed or altered)`);
      const body = Buffer.from(JSON.stringify({ entry: line.entry, prev: line.prev }));
      if (publicKey && !verify(null, body, publicKey, Buffer.from(line.sig, 'base64')))
        throw new Error(`${path} line ${i + 1}: the signature does not verify with ${verifierKey!.split('+')[0]}`);
      prev = lineHash(text);
      return line.entry;
    });
}
