import { writeFileSync } from 'node:fs';
import type { Soc2Report } from '../compliance/reportModel.js';
import { requestServer, type ServerFlags } from './serverClient.js';
import { timeFlag } from './verifyCommand.js';

export interface ReportFlags extends ServerFlags {
  from: string;
  to?: string;
  tenant?: string;
  format: 'json' | 'html';
  out?: string;
}

/** `meshlog report soc2 --from 30d --format html --out report.html`: a SOC 2 evidence report from a running server (auditor or admin). */
export async function reportSoc2Command(flags: ReportFlags): Promise<void> {
  const params = new URLSearchParams({ from: timeFlag(flags.from, 'from')!.toString(), format: flags.format });
  const to = timeFlag(flags.to, 'to');
  if (to !== undefined) params.set('to', to.toString());
  if (flags.tenant) params.set('tenant', flags.tenant);
  const { text, headers } = await requestServer(flags, 'GET', `/api/v1/reports/soc2?${params}`);
  if (!flags.out) return void process.stdout.write(text);
  writeFileSync(flags.out, text);
  const sha256 = headers.get('x-meshlog-evidence-sha256') ?? 'unknown';
  process.stderr.write(`wrote ${flags.out} (evidence sha256 ${sha256})\n`);
  if (flags.format === 'json') {
    for (const item of (JSON.parse(text) as Soc2Report).summary) process.stderr.write(`${item.status.toUpperCase().padEnd(9)} ${item.id.padEnd(13)} ${item.reason}\n`);
  }
}
