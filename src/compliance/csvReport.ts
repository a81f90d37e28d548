import { stringify } from 'csv-stringify/sync';
import type { Soc2Report } from './reportModel.js';

export const csvReportColumns = [
  'period_from',
  'period_to',
  'tenant',
  'evidence_sha256',
  'period_evidence_sha256',
  'section',
  'title',
  'criteria',
  'status',
  'reason',
  'figures',
] as const;

/** OWASP's guard against formula injection: a cell a spreadsheet would run (`=`, `+`, `-`, `@`, tab, CR) starts with `'`; reasons carry client-chosen names. */
const inert = (cell: string): string => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A section's counts as `path=value` pairs: its numbers and those of its objects, lists as their lengths. */
function figuresOf(data: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(data).flatMap(([key, value]) => {
    const path = `${prefix}${key}`;
    if (typeof value === 'number') return [`${path}=${value}`];
    if (Array.isArray(value)) return [`${path}.count=${value.length}`];
    return isRecord(value) && prefix === '' ? figuresOf(value, `${path}.`) : [];
  });
}

/**
 * The report as a spreadsheet, one row per section (findings are tracked in
 * spreadsheets): each row names the period, tenant and both evidence hashes
 * of the generation it came from, so a row can be traced to its JSON.
 */
export function renderCsvReport(report: Soc2Report, sha256: string): string {
  const rows = report.sections.map((section) => [
    report.period.from,
    report.period.to,
    report.tenant ?? '*',
    sha256,
    report.period_evidence.sha256,
    section.id,
    section.title,
    section.criteria.join(' '),
    section.status,
    section.reason,
    figuresOf(section.data).join('; '),
  ]);
  return stringify([[...csvReportColumns], ...rows.map((row) => row.map(inert))]);
}
