import { createHash, sign, verify } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import type { LedgerReplica } from '../model/ledgerReplica.js';
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
  /** In a cluster: the stream's last sequence at the first execution; messages up to it are covered. */
  streamCoveredUntilSeq?: number;
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
 * disposed of after the backup was taken. In a cluster each line is also
 * kept in a bucket (`replicateTo`), so a node lost with its disk gets its
 * ledger back.
 */
export class DeletionLedger {
  private prev: string;
  private count: number;
  private replica: { to: LedgerReplica; logger: Logger } | undefined;

  constructor(
    readonly path: string,
    private readonly signer: NoteSigner,
  ) {
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    const lines = linesOf(path);
    this.prev = lines.length > 0 ? lineHash(lines[lines.length - 1]) : '';
    this.count = lines.length;
  }

  append(entry: DeletionEntry): void {
    const body = JSON.stringify({ entry, prev: this.prev });
    const line = JSON.stringify({
      entry,
      prev: this.prev,
      sig: sign(null, Buffer.from(body), this.signer.privateKey).toString('base64'),
    } satisfies LedgerLine);
    this.write([line]);
    const replica = this.replica;
    // Not awaited: the deletion goes on. A line the bucket did not take is put there at the next start.
    void replica?.to
      .put(this.count, line)
      .catch((error: unknown) => replica.logger.warn({ line: this.count, reason: (error as Error).message }, 'ledger line not replicated'));
  }

  /**
   * In a cluster, before anything is appended: a ledger shorter than its
   * replicated copy (missing, or the node came back on a new disk) takes the
   * lines it lacks, once the whole copy checks (chain, and signatures by
   * this node's key); one longer puts the lines the bucket lacks. A copy
   * that does not check, or does not continue this file, is refused
   * (logged): the file stays as it is.
   */
  async replicateTo(replica: LedgerReplica, logger: Logger): Promise<void> {
    const local = linesOf(this.path);
    const replicated = await replica.lines();
    if (replicated.some((line, i) => i < local.length && line !== local[i])) {
      logger.error({ ledger: this.path }, 'the replicated deletion ledger differs from this one: neither is changed');
    } else if (replicated.length > local.length) {
      try {
        checkLedgerLines(replicated, [this.signer.verifierKey], 'replicated deletion ledger');
        this.write(replicated.slice(local.length));
        logger.warn({ ledger: this.path, restored: replicated.length - local.length }, 'deletion ledger lines restored from the cluster');
      } catch (error) {
        logger.error({ ledger: this.path, reason: (error as Error).message }, 'replicated deletion ledger refused');
      }
    } else {
      for (let i = replicated.length; i < local.length; i++) await replica.put(i + 1, local[i]);
    }
    this.replica = { to: replica, logger };
  }

  /** Appends lines to the file and syncs it. */
  private write(lines: string[]): void {
    const fd = openSync(this.path, 'a', 0o600);
    try {
      writeSync(fd, lines.map((line) => `${line}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.count += lines.length;
    this.prev = lineHash(lines[lines.length - 1]);
  }
}

function linesOf(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

/**
 * The entries of ledger lines, after checking their chain and (with verifier
 * keys) that each line is signed by one of them (a node whose key changed
 * signed its older lines with the key before); throws naming the first bad
 * line of `source`.
 */
export function checkLedgerLines(lines: string[], verifierKeys: string[], source: string): DeletionEntry[] {
  const publicKeys = verifierKeys.map((key) => parseVerifierKey(key).publicKey);
  let prev = '';
  return lines.map((text, i) => {
    let line: LedgerLine;
    try {
      line = JSON.parse(text) as LedgerLine;
    } catch {
      throw new Error(`${source} line ${i + 1}: not a ledger line (not JSON)`);
    }
    if (typeof line !== 'object' || line === null) throw new Error(`${source} line ${i + 1}: not a ledger line`);
    if (line.prev !== prev) throw new Error(`${source} line ${i + 1}: the chain is broken (a line before it was removed or altered)`);
    const body = Buffer.from(JSON.stringify({ entry: line.entry, prev: line.prev }));
    const signature = Buffer.from(String(line.sig), 'base64');
    if (publicKeys.length > 0 && !publicKeys.some((publicKey) => verify(null, body, publicKey, signature)))
      throw new Error(
        `${source} line ${i + 1}: the signature does not verify with ${verifierKeys.map((key) => key.split('+')[0]).join(' or ')}`,
      );
    prev = lineHash(text);
    return line.entry;
  });
}

/** The entries of a ledger, after checking its chain and (with a verifier key) every signature; throws naming the first bad line. */
export function readDeletionLedger(path: string, verifierKey: string | undefined): DeletionEntry[] {
  return checkLedgerLines(linesOf(path), verifierKey ? [verifierKey] : [], path);
}
