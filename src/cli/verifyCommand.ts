import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { verifyIntegrity, type Finding, type VerifyProgress, type VerifyReport } from '../integrity/verifier.js';
import { nowNs, parseLokiDuration, parseLokiTime } from '../query/lokiParams.js';
import { sealJournalDir, SealJournal } from '../storage/logs/sealJournal.js';
import { SealStore } from '../storage/logs/sealStore.js';
import { hashBatchContent } from '../integrity/batchSeal.js';
import { Storage } from '../storage/engine/storage.js';
import { serverError } from './serverClient.js';
import { progress } from './progress.js';
import { publicKeysFlag } from './publicKeysFlag.js';

export interface VerifyFlags {
  dataDir?: string;
  database: string;
  server: string;
  token?: string;
  tenant?: string;
  from?: string;
  to?: string;
  publicKey?: string;
  output: string;
}

/** `24h` / `7d` mean that long ago; anything else is a Loki timestamp (RFC3339 or Unix). */
export function timeFlag(value: string | undefined, name: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?[a-z]+$/i.test(value) && !/^\d+$/.test(value)) return nowNs() - parseLokiDuration(value, name);
  return parseLokiTime(value, 0n, name);
}

/**
 * The verifier keys: a C2SP key string, or a file holding one a line (a
 * cluster's published key set, GET /api/v1/integrity/public-keys: a seal
 * signed by any of them is accepted, by no other); default
 * <data-dir>-signing.key.pub.
 */
function verifierKeys(flags: VerifyFlags, dataDir: string): { verifierKey: string; alsoAccepted: string[] } {
  const keys = publicKeysFlag(flags.publicKey ?? `${resolve(dataDir)}-signing.key.pub`);
  return { verifierKey: keys[0]!, alsoAccepted: keys.slice(1) };
}

const describe = (finding: Finding) =>
  `${finding.kind.toUpperCase()} chain=${finding.chain}` +
  (finding.batchSeq !== undefined ? ` batch=${finding.batchSeq}` : '') +
  (finding.positions?.length
    ? ` positions=${finding.positions.join(',')}${(finding.count ?? 0) > finding.positions.length ? ',…' : ''}`
    : '') +
  `: ${finding.detail}`;

/**
 * `meshlog verify`: against a running server's API, or offline over a data
 * directory no server holds (--data-dir). Exit 0 clean, 1 on any finding.
 */
export async function verifyCommand(flags: VerifyFlags): Promise<void> {
  const fromNs = timeFlag(flags.from, 'from');
  const toNs = timeFlag(flags.to, 'to');
  const findings: Finding[] = [];
  const shown = progress('verify');
  const onFinding = (finding: Finding) => {
    findings.push(finding);
    if (flags.output === 'text') {
      shown.clear();
      process.stdout.write(`${describe(finding)}\n`);
    }
  };
  const onProgress = (step: VerifyProgress) =>
    shown.update(`chain ${step.chain}: ${step.batchesChecked}/${step.batchesTotal} batches, ${step.recordsChecked} records`);

  const run = async (): Promise<VerifyReport | Omit<VerifyReport, 'findings'>> => {
    if (!flags.dataDir) return verifyRemote(flags, fromNs, toNs, onProgress, onFinding);
    const storage = await Storage.open({ dataDir: flags.dataDir, database: flags.database }, pino({ level: 'warn' }));
    try {
      return await verifyIntegrity(
        // A server killed before moving its journaled seals into the table: moved here first.
        new SealStore(storage, { journal: new SealJournal(sealJournalDir(flags.dataDir)), hashContent: hashBatchContent }),
        { ...verifierKeys(flags, flags.dataDir), tenant: flags.tenant, fromNs, toNs },
        onProgress,
        onFinding,
      );
    } finally {
      await storage.close();
    }
  };
  const report = await run().catch((error: unknown) => {
    shown.fail();
    throw error;
  });
  shown.done(
    `${findings.length === 0 ? 'OK' : `${findings.length} finding(s)`}: ${report.chains} chain(s), ${report.batches} batches, ${report.records} records`,
  );

  const summary = { ...report, findings };
  if (flags.output === 'json') process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const explained = Object.entries(report.explained)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    process.stdout.write(
      `${findings.length === 0 ? 'OK' : `FAILED: ${findings.length} finding(s)`} — ${report.chains} chain(s), ${report.batches} batches, ` +
        `${report.records} records, ${report.checkpoints} checkpoints checked in ${report.elapsedMs} ms${explained ? ` (${explained})` : ''}\n`,
    );
  }
  process.exitCode = findings.length === 0 ? 0 : 1;
}

async function verifyRemote(
  flags: VerifyFlags,
  fromNs: bigint | undefined,
  toNs: bigint | undefined,
  onProgress: (progress: VerifyProgress) => void,
  onFinding: (finding: Finding) => void,
): Promise<Omit<VerifyReport, 'findings'>> {
  const params = new URLSearchParams();
  if (flags.tenant) params.set('tenant', flags.tenant);
  if (fromNs !== undefined) params.set('from', fromNs.toString());
  if (toNs !== undefined) params.set('to', toNs.toString());
  const token = flags.token ?? process.env.MESHLOG_TOKEN;
  const response = await fetch(`${flags.server.replace(/\/$/, '')}/api/v1/integrity/verify?${params}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok || !response.body) throw serverError(response.status, await response.text(), token);
  let summary: Omit<VerifyReport, 'findings'> | undefined;
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const chunk of Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const message = JSON.parse(buffered.slice(0, newline)) as { type: string } & Record<string, unknown>;
      buffered = buffered.slice(newline + 1);
      if (message.type === 'progress') onProgress(message as unknown as VerifyProgress);
      else if (message.type === 'finding') onFinding(message as unknown as Finding);
      else if (message.type === 'summary') summary = message as unknown as Omit<VerifyReport, 'findings'>;
      else if (message.type === 'error') throw new Error(`verification failed on the server: ${String(message.error)}`);
    }
  }
  if (!summary) throw new Error('the server ended the verification without a summary');
  return summary;
}
