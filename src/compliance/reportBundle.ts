import { createHash } from 'node:crypto';
import { zipSync } from 'fflate';
import { parseVerifierKey, type NoteSigner } from '../integrity/signedNote.js';
import { renderCsvReport } from './csvReport.js';
import { renderHtmlReport } from './htmlReport.js';
import type { Soc2Report } from './reportModel.js';
import { signReport, signReportFile } from '../integrity/reportSignature.js';

/** The name every file of a bundle starts with. */
export const bundleBase = 'soc2-report';
export const bundleManifestName = 'manifest.json';

/** What a bundle's signed manifest says: one generation, its hashes, and every file beside it. */
export interface BundleManifest {
  bundle: 'meshlog soc2 report';
  period: Soc2Report['period'];
  tenant: string | null;
  generated_at: string;
  /** SHA-256 of the JSON evidence, the same in every rendering. */
  evidence_sha256: string;
  period_evidence_sha256: string;
  sections: number;
  files: { name: string; sha256: string }[];
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * One generation of a report in every format, signed, in one ZIP file: the
 * JSON evidence (signed inside), its HTML, PDF and CSV renderings each with a
 * detached `.sig`, the public key as a C2SP verifier key and as PEM (for
 * `openssl pkeyutl -verify -rawin`), and a signed manifest listing every
 * file's SHA-256 so that no file can be swapped or dropped unnoticed. It is
 * what the web UI downloads, since a browser keeps no signature headers.
 */
export async function renderReportBundle(
  report: Soc2Report,
  json: string,
  sha256: string,
  signer: NoteSigner,
  renderPdf: (html: string) => Promise<Buffer>,
): Promise<Buffer> {
  const html = renderHtmlReport(report, json, sha256);
  const rendered: [string, Buffer][] = [
    ['html', Buffer.from(html, 'utf8')],
    ['pdf', await renderPdf(html)],
    ['csv', Buffer.from(renderCsvReport(report, sha256), 'utf8')],
  ];
  const files: Record<string, Uint8Array> = { [`${bundleBase}.json`]: Buffer.from(json, 'utf8') };
  for (const [extension, bytes] of rendered) {
    files[`${bundleBase}.${extension}`] = bytes;
    files[`${bundleBase}.${extension}.sig`] = Buffer.from(`${JSON.stringify(signReportFile(bytes, signer), null, 2)}\n`, 'utf8');
  }
  files['signing-key.pub'] = Buffer.from(`${signer.verifierKey}\n`, 'utf8');
  files['signing-key.pem'] = Buffer.from(
    parseVerifierKey(signer.verifierKey).publicKey.export({ format: 'pem', type: 'spki' }) as string,
    'utf8',
  );
  const manifest: BundleManifest = {
    bundle: 'meshlog soc2 report',
    period: report.period,
    tenant: report.tenant,
    generated_at: report.generated_at,
    evidence_sha256: sha256,
    period_evidence_sha256: report.period_evidence.sha256,
    sections: report.sections.length,
    files: Object.entries(files).map(([name, bytes]) => ({ name, sha256: sha256Of(bytes) })),
  };
  files[bundleManifestName] = Buffer.from(`${JSON.stringify(signReport(manifest, signer), null, 2)}\n`, 'utf8');
  // Stored, not deflated: the PDF is compressed already, and fixed bytes keep the file easy to inspect.
  const mtime = new Date(report.generated_at);
  return Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, [bytes, { level: 0, mtime }]]))));
}
