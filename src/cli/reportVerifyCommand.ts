import { existsSync, readFileSync } from 'node:fs';
import { verifyReportFile, verifyReportJson, type DetachedReportSignature, type SignatureCheck } from '../compliance/reportSignature.js';
import { bundleKind, checkBundleProofs, type IncidentBundle } from '../incidents/incidentBundle.js';

export interface ReportVerifyFlags {
  publicKey?: string;
  signature?: string;
}

/** A verifier key string, or a file holding one (`<data_dir>-signing.key.pub`). */
function trustedKeyOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (existsSync(value)) return readFileSync(value, 'utf8').trim();
  if (value.includes('+')) return value;
  throw new Error(`--public-key ${value}: no such file, and not a verifier key string`);
}

const evidencePattern = /<script type="application\/json" id="evidence">([\s\S]*?)<\/script>/;

/** What was checked and how it came out, one line each. */
function checkFile(file: string, bytes: Buffer, flags: ReportVerifyFlags, trustedKey: string | undefined): { label: string; check: SignatureCheck }[] {
  const text = bytes.toString('utf8');
  if (text.trimStart().startsWith('{')) {
    let report: object;
    try {
      report = JSON.parse(text) as object;
    } catch (error) {
      return [{ label: 'JSON report', check: { ok: false, reason: `not valid JSON (${(error as Error).message})` } }];
    }
    const checks = [{ label: 'JSON report', check: verifyReportJson(report, trustedKey) }];
    // An incident bundle also carries each pinned record's seal and inclusion proof: check those against the signed checkpoints.
    if ((report as { report?: unknown }).report === bundleKind) {
      const bundle = report as IncidentBundle;
      const problems = checkBundleProofs(bundle, trustedKey);
      checks.push({
        label: `${bundle.records?.length ?? 0} pinned records (seal, inclusion proof, signed checkpoint)`,
        check: problems.length === 0 ? { ok: true, key: trustedKey ?? String(bundle.verifier_key) } : { ok: false, reason: problems.join('; ') },
      });
    }
    return checks;
  }
  const signatureFile = flags.signature ?? `${file}.sig`;
  if (!existsSync(signatureFile)) {
    return [{ label: 'report file', check: { ok: false, reason: `no detached signature ${signatureFile} (HTML and PDF reports are signed in a .sig file beside them; pass --signature FILE)` } }];
  }
  const checks = [{ label: `report file (signature ${signatureFile})`, check: verifyReportFile(bytes, JSON.parse(readFileSync(signatureFile, 'utf8')) as Partial<DetachedReportSignature>, trustedKey) }];
  // An HTML report also carries its signed JSON evidence: check that too.
  const evidence = bytes.subarray(0, 5).toString('latin1') === '%PDF-' ? undefined : evidencePattern.exec(text)?.[1];
  if (evidence !== undefined) checks.push({ label: 'embedded JSON evidence', check: verifyReportJson(JSON.parse(evidence) as object, trustedKey) });
  return checks;
}

/**
 * `meshlog report verify FILE [--public-key FILE|KEY]`: checks a report's
 * Ed25519 signature offline. Exit 0 when every signature verifies, 1 when
 * any does not (the report was modified, or signed by another key).
 */
export function reportVerifyCommand(file: string, flags: ReportVerifyFlags): void {
  const trustedKey = trustedKeyOf(flags.publicKey);
  const checks = checkFile(file, readFileSync(file), flags, trustedKey);
  let failed = false;
  for (const { label, check } of checks) {
    if (check.ok) {
      process.stdout.write(`OK ${file}: ${label}: signature verifies with ${trustedKey ? 'the trusted key' : 'the key it names'} ${check.key}\n`);
    } else {
      failed = true;
      process.stdout.write(`FAILED ${file}: ${label}: ${check.reason}\n`);
    }
  }
  if (!failed && !trustedKey) {
    process.stderr.write('note: no --public-key given, so this shows only that the report is unchanged since the named key signed it; pass --public-key <data_dir>-signing.key.pub to check it was your server\n');
  }
  if (failed) process.exitCode = 1;
}
