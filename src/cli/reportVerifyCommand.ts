import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { bundleManifestName, type BundleManifest } from '../compliance/reportBundle.js';
import { verifyReportFile, verifyReportJson, type DetachedReportSignature, type SignatureCheck } from '../integrity/reportSignature.js';
import { bundleKind, checkBundleProofs, type IncidentBundle } from '../incidents/incidentBundle.js';

export interface ReportVerifyFlags {
  publicKey?: string;
  signature?: string;
}

/**
 * A verifier key string, or a file holding one a line: one server's
 * (`<data_dir>-signing.key.pub`) or a cluster's published key set
 * (GET /api/v1/integrity/public-keys), any of which may have signed.
 */
function trustedKeysOf(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (existsSync(value)) {
    const keys = readFileSync(value, 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    if (keys.length === 0) throw new Error(`--public-key ${value}: the file holds no verifier key`);
    return keys;
  }
  if (value.includes('+')) return [value];
  throw new Error(`--public-key ${value}: no such file, and not a verifier key string`);
}

const evidencePattern = /<script type="application\/json" id="evidence">([\s\S]*?)<\/script>/;

type Check = { label: string; check: SignatureCheck };

/** A JSON report (signed inside), or a rendering with its detached signature (`undefined` when there is none). */
function checkReport(bytes: Buffer, signature: { name: string; bytes: Buffer | undefined }, trustedKeys: string[] | undefined): Check[] {
  const text = bytes.toString('utf8');
  if (text.trimStart().startsWith('{')) {
    let report: object;
    try {
      report = JSON.parse(text) as object;
    } catch (error) {
      return [{ label: 'JSON report', check: { ok: false, reason: `not valid JSON (${(error as Error).message})` } }];
    }
    const checks = [{ label: 'JSON report', check: verifyReportJson(report, trustedKeys) }];
    // An incident bundle also carries each pinned record's seal and inclusion proof: check those against the signed checkpoints.
    if ((report as { report?: unknown }).report === bundleKind) {
      const bundle = report as IncidentBundle;
      // Its checkpoints are by the key that signed it, when that key is trusted.
      const proofKey = trustedKeys && (trustedKeys.includes(String(bundle.verifier_key)) ? String(bundle.verifier_key) : trustedKeys[0]);
      const problems = checkBundleProofs(bundle, proofKey);
      checks.push({
        label: `${bundle.records?.length ?? 0} pinned records (seal, inclusion proof, signed checkpoint)`,
        check:
          problems.length === 0 ? { ok: true, key: proofKey ?? String(bundle.verifier_key) } : { ok: false, reason: problems.join('; ') },
      });
    }
    return checks;
  }
  if (signature.bytes === undefined) {
    return [
      {
        label: 'report file',
        check: {
          ok: false,
          reason: `no detached signature ${signature.name} (HTML, PDF and CSV reports are signed in a .sig file beside them; pass --signature FILE)`,
        },
      },
    ];
  }
  const checks = [
    {
      label: `report file (signature ${signature.name})`,
      check: verifyReportFile(bytes, JSON.parse(signature.bytes.toString('utf8')) as Partial<DetachedReportSignature>, trustedKeys),
    },
  ];
  // An HTML report also carries its signed JSON evidence: check that too.
  const evidence = bytes.subarray(0, 5).toString('latin1') === '%PDF-' ? undefined : evidencePattern.exec(text)?.[1];
  if (evidence !== undefined)
    checks.push({ label: 'embedded JSON evidence', check: verifyReportJson(JSON.parse(evidence) as object, trustedKeys) });
  return checks;
}

const fail = (label: string, reason: string): Check => ({ label, check: { ok: false, reason } });

/**
 * A bundle (ZIP): its signed manifest, every file against the manifest's
 * SHA-256 (none missing, none added), and every report in it by its own
 * signature; the JSON's evidence hash must be the one the manifest names.
 */
function checkBundle(bytes: Buffer, trustedKeys: string[] | undefined): Check[] {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    return [fail('bundle', `not a readable ZIP file (${(error as Error).message})`)];
  }
  const manifestBytes = files[bundleManifestName];
  if (!manifestBytes) return [fail('bundle', `no ${bundleManifestName} in the bundle`)];
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as BundleManifest;
  } catch (error) {
    return [fail(bundleManifestName, `not valid JSON (${(error as Error).message})`)];
  }
  const checks: Check[] = [{ label: bundleManifestName, check: verifyReportJson(manifest, trustedKeys) }];
  const listed = new Map((manifest.files ?? []).map((entry) => [entry.name, entry.sha256]));
  for (const name of Object.keys(files)) {
    if (name !== bundleManifestName && !listed.has(name)) checks.push(fail(name, 'in the bundle but not in its signed manifest'));
  }
  for (const [name, sha256] of listed) {
    const file = files[name];
    if (!file) checks.push(fail(name, 'listed in the signed manifest but missing from the bundle'));
    else if (createHash('sha256').update(file).digest('hex') !== sha256)
      checks.push(fail(name, 'its SHA-256 differs from the one in the signed manifest: the file was modified'));
  }
  for (const [name, file] of Object.entries(files)) {
    if (!/^soc2-report\.(json|html|pdf|csv)$/.test(name)) continue;
    const signature = files[`${name}.sig`];
    checks.push(
      ...checkReport(Buffer.from(file), { name: `${name}.sig`, bytes: signature && Buffer.from(signature) }, trustedKeys).map(
        ({ label, check }) => ({ label: `${name}: ${label}`, check }),
      ),
    );
    if (name.endsWith('.json') && createHash('sha256').update(file).digest('hex') !== manifest.evidence_sha256) {
      checks.push(fail(name, 'its SHA-256 is not the evidence hash the manifest names'));
    }
  }
  return checks;
}

/** What was checked and how it came out, one line each. */
function checkFile(file: string, bytes: Buffer, flags: ReportVerifyFlags, trustedKeys: string[] | undefined): Check[] {
  if (bytes.subarray(0, 4).toString('latin1') === 'PK\x03\x04') return checkBundle(bytes, trustedKeys);
  const signatureFile = flags.signature ?? `${file}.sig`;
  return checkReport(
    bytes,
    { name: signatureFile, bytes: existsSync(signatureFile) ? readFileSync(signatureFile) : undefined },
    trustedKeys,
  );
}

/**
 * `meshlog report verify FILE [--public-key FILE|KEY]`: checks a report's
 * Ed25519 signature offline. Exit 0 when every signature verifies, 1 when
 * any does not (the report was modified, or signed by another key).
 */
export function reportVerifyCommand(file: string, flags: ReportVerifyFlags): void {
  const trustedKeys = trustedKeysOf(flags.publicKey);
  const checks = checkFile(file, readFileSync(file), flags, trustedKeys);
  let failed = false;
  for (const { label, check } of checks) {
    if (check.ok) {
      process.stdout.write(
        `OK ${file}: ${label}: signature verifies with ${trustedKeys ? 'the trusted key' : 'the key it names'} ${check.key}\n`,
      );
    } else {
      failed = true;
      process.stdout.write(`FAILED ${file}: ${label}: ${check.reason}\n`);
    }
  }
  if (!failed && !trustedKeys) {
    process.stderr.write(
      'note: no --public-key given, so this shows only that the report is unchanged since the named key signed it; pass --public-key <data_dir>-signing.key.pub to check it was your server\n',
    );
  }
  if (failed) process.exitCode = 1;
}
