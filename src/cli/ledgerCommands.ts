import { readFileSync, writeFileSync } from 'node:fs';
import type { DeletionLedgerCopyResponse } from '../api/deletionLedger.js';
import type { PublishedKey } from '../model/publishedKey.js';
import { checkLedgerLines } from '../retention/deletionLedger.js';
import { publicKeysFlag } from './publicKeysFlag.js';
import { callServer, type ServerFlags } from './serverClient.js';

export interface LedgerFetchFlags extends ServerFlags {
  publicKey?: string;
  against?: string;
  out?: string;
  output: 'text' | 'json';
}

/** The node's own keys in the cluster's published set: a line signed by another node's key is not this node's. */
async function publishedKeysOf(flags: ServerFlags, node: string): Promise<string[]> {
  const { keys } = await callServer<{ keys: PublishedKey[] }>(flags, 'GET', '/api/v1/integrity/public-keys');
  const own = keys.filter((key) => key.node === node).map((key) => key.verifierKey);
  if (own.length === 0)
    throw new Error(`the cluster publishes no signing key of node ${node}: pass --public-key FILE|KEY (its <data-dir>-signing.key.pub)`);
  return own;
}

/** What keeps the fetched ledger from being used: lines missing or deleted in the bucket, a broken chain or signature, a copy it does not continue. */
function findingsOf(copy: DeletionLedgerCopyResponse, keys: string[], against: string | undefined): string[] {
  const findings: string[] = [];
  if (copy.lines.length === 0 && copy.deleted.length === 0)
    findings.push(`EMPTY the cluster holds no deletion ledger line of node ${copy.node}`);
  for (const number of copy.missing) findings.push(`MISSING line ${number}: the bucket holds nothing under ${copy.node}.${number}`);
  if (copy.deleted.length > 0)
    findings.push(
      `DELETED line${copy.deleted.length > 1 ? 's' : ''} ${copy.deleted.join(', ')}: deleted from the bucket (the markers remain)` +
        (Math.min(...copy.deleted) > copy.lines.length ? ': the ledger was cut short' : ''),
    );
  try {
    checkLedgerLines(copy.lines, keys, `node ${copy.node}'s replicated ledger`);
  } catch (error) {
    findings.push(`FORGED ${(error as Error).message}`);
  }
  if (against !== undefined) {
    const kept = readFileSync(against, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    const differs = kept.findIndex((line, i) => i < copy.lines.length && line !== copy.lines[i]);
    if (differs !== -1) findings.push(`DIFFERS line ${differs + 1} is not the line of ${against}`);
    else if (kept.length > copy.lines.length)
      findings.push(`SHORT the cluster holds ${copy.lines.length} lines, ${against} ${kept.length}: the ledger was cut short`);
  }
  return findings;
}

/**
 * `meshlog ledger fetch <node>`: a node's replicated deletion ledger (after
 * losing its disk), through a running node's API (admin for every tenant,
 * audited there), checked here: every line number present, nothing deleted
 * from the bucket, the hash chain from the first line, every signature by
 * the node's published key (or --public-key), and with --against the copy
 * it must continue. Written to --out only when it checks, for
 * `meshlog restore --ledger`. Exit 1 on any finding.
 */
export async function ledgerFetchCommand(node: string, flags: LedgerFetchFlags): Promise<void> {
  const copy = await callServer<DeletionLedgerCopyResponse>(
    flags,
    'GET',
    `/api/v1/admin/cluster/deletion-ledgers/${encodeURIComponent(node)}`,
  );
  const keys = flags.publicKey ? publicKeysFlag(flags.publicKey) : await publishedKeysOf(flags, node);
  const findings = findingsOf(copy, keys, flags.against);
  const keyNames = keys.map((key) => key.split('+')[0]).join(', ');
  if (findings.length === 0 && flags.out)
    writeFileSync(flags.out, copy.lines.map((line) => `${line}\n`).join(''), { flag: 'wx', mode: 0o600 });
  if (flags.output === 'json') {
    process.stdout.write(
      `${JSON.stringify({ node, lines: copy.lines.length, keys, findings, written: findings.length === 0 ? flags.out : undefined }, null, 2)}\n`,
    );
  } else if (findings.length === 0) {
    process.stdout.write(
      `node ${node}: ${copy.lines.length} ledger lines, chain intact, every line signed by ${keyNames}` +
        (flags.against ? `, continues ${flags.against}` : '') +
        (flags.out ? `; written to ${flags.out} (meshlog restore --ledger ${flags.out})` : '') +
        '\n',
    );
  } else {
    for (const finding of findings) process.stdout.write(`${finding}\n`);
    process.stdout.write(`node ${node}: the replicated ledger does not check (${findings.length} findings); nothing written\n`);
  }
  if (findings.length > 0) process.exitCode = 1;
}
