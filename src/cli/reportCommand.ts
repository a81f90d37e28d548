import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Soc2Report } from '../compliance/reportModel.js';
import { fileSignedPart, type DetachedReportSignature } from '../integrity/reportSignature.js';
import type { StoredReportEntry } from '../storage/stores/reportStore.js';
import { callServer, requestServer, type ServerFlags } from './serverClient.js';
import { timeFlag } from './verifyCommand.js';
import { withProgress } from './progress.js';

type ReportFormat = 'json' | 'html' | 'pdf' | 'csv' | 'bundle';

export interface ReportFlags extends ServerFlags {
  from: string;
  to?: string;
  tenant?: string;
  format: ReportFormat;
  out?: string;
}

const print = (line: string): void => void process.stderr.write(`${line}\n`);

/** Writes a report to --out (or standard output) and says which evidence it carries. */
async function saveReport(flags: ServerFlags & { format: ReportFormat; out?: string }, path: string): Promise<void> {
  // A PDF takes the server several seconds (it prints the HTML with Chromium): the clock shows it is working.
  const { body, headers } = await withProgress(
    `report (${flags.format})`,
    async (shown) => {
      shown.update('the server is gathering evidence and signing');
      return requestServer(flags, 'GET', path);
    },
    (answer) => `${(answer.body.length / 1024).toFixed(0)} KiB${flags.out ? ` to ${flags.out}` : ''}`,
  );
  if (!flags.out) return void process.stdout.write(body);
  writeFileSync(flags.out, body);
  print(`wrote ${flags.out} (evidence sha256 ${headers.get('x-meshlog-evidence-sha256') ?? 'unknown'})`);
  // HTML, PDF and CSV are signed as files: the signature is kept beside them for `meshlog report verify` (a bundle carries its own).
  const signature = headers.get('x-meshlog-signature');
  const key = headers.get('x-meshlog-signing-key');
  if (flags.format !== 'json' && flags.format !== 'bundle' && signature && key) {
    const detached: DetachedReportSignature = {
      algorithm: 'Ed25519',
      signed: fileSignedPart,
      key,
      value: signature,
      file_sha256: createHash('sha256').update(body).digest('hex'),
    };
    writeFileSync(`${flags.out}.sig`, `${JSON.stringify(detached, null, 2)}\n`);
    print(`wrote ${flags.out}.sig (Ed25519 signature by ${key})`);
  }
  if (flags.format === 'json') {
    for (const item of (JSON.parse(body.toString('utf8')) as Soc2Report).summary)
      print(`${item.status.toUpperCase().padEnd(9)} ${item.id.padEnd(13)} ${item.reason}`);
  }
}

/** `meshlog report soc2 --from 30d --format html --out report.html`: a SOC 2 evidence report from a running server (auditor or admin). */
export async function reportSoc2Command(flags: ReportFlags): Promise<void> {
  const params = new URLSearchParams({ from: timeFlag(flags.from, 'from')!.toString(), format: flags.format });
  const to = timeFlag(flags.to, 'to');
  if (to !== undefined) params.set('to', to.toString());
  if (flags.tenant) params.set('tenant', flags.tenant);
  await saveReport(flags, `/api/v1/reports/soc2?${params}`);
}

/** `meshlog report list`: stored (monthly) reports, newest period first. */
export async function reportListCommand(flags: ServerFlags & { output: string }): Promise<void> {
  const { reports } = await callServer<{ reports: (Omit<StoredReportEntry, 'summary'> & { summary: { status: string }[] })[] }>(
    flags,
    'GET',
    '/api/v1/reports',
  );
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  if (flags.output === 'json') return out(JSON.stringify(reports, null, 2));
  out(['ID', 'PERIOD FROM', 'PERIOD TO', 'GENERATED', 'BY', 'PASS/ATTENTION/FAIL', 'SHA-256'].join('\t'));
  for (const report of reports) {
    const count = (status: string) => report.summary.filter((item) => item.status === status).length;
    out(
      [
        report.id,
        report.period_from,
        report.period_to,
        report.generated_at,
        report.generated_by,
        `${count('pass')}/${count('attention')}/${count('fail')}`,
        report.sha256,
      ].join('\t'),
    );
  }
}

/** `meshlog report get ID --format pdf --out report.pdf`: a stored report in any format. */
export async function reportGetCommand(id: string, flags: ServerFlags & { format: ReportFormat; out?: string }): Promise<void> {
  await saveReport(flags, `/api/v1/reports/${encodeURIComponent(id)}?format=${flags.format}`);
}
