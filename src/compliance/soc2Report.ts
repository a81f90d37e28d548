import { createHash } from 'node:crypto';
import type { CompliancePeriod } from '../storage/complianceQueries.js';
import { accessSection } from './accessSection.js';
import { availabilitySection } from './availabilitySection.js';
import { changeSection } from './changeSection.js';
import { coverageSection } from './coverageSection.js';
import { dataAccessSection } from './dataAccessSection.js';
import { integritySection } from './integritySection.js';
import { monitoringSection } from './monitoringSection.js';
import { redactionSection } from './redactionSection.js';
import { isoOfNs, type ReportSection, type ReportSources, type SectionInput, type Soc2Report } from './reportModel.js';
import { transmissionSection } from './transmissionSection.js';

/** The report's sections, in the order they are printed. */
const sectionBuilders: ((input: SectionInput) => Promise<ReportSection>)[] = [
  coverageSection,
  integritySection,
  accessSection,
  dataAccessSection,
  changeSection,
  transmissionSection,
  redactionSection,
  monitoringSection,
  availabilitySection,
];

/** Audit events read for one report; a period with more is marked truncated. */
const maxAuditEvents = 100_000;

export interface BuiltReport {
  report: Soc2Report;
  /** The JSON evidence exactly as served and hashed. */
  json: string;
  sha256: string;
}

/** Builds a SOC 2 evidence report for a period from what meshlog recorded. */
export async function buildSoc2Report(sources: ReportSources, period: CompliancePeriod, generatedBy: { id: string; name: string }): Promise<BuiltReport> {
  const newestFirst = await sources.auditStore.events({ sinceNs: period.fromNs, untilNs: period.toNs, limit: maxAuditEvents });
  const input: SectionInput = { sources, period, audit: newestFirst.reverse() };
  const sections = await Promise.all(sectionBuilders.map((build) => build(input)));
  const report: Soc2Report = {
    report: 'soc2',
    format_version: 1,
    generated_at: new Date().toISOString(),
    generated_by: generatedBy,
    period: { from: isoOfNs(period.fromNs), to: isoOfNs(period.toNs) },
    tenant: period.tenant || null,
    audit_events: { read: newestFirst.length, truncated: newestFirst.length >= maxAuditEvents },
    summary: sections.map(({ id, title, criteria, status, reason }) => ({ id, title, criteria, status, reason })),
    sections,
  };
  const json = JSON.stringify(report, null, 2);
  return { report, json, sha256: createHash('sha256').update(json).digest('hex') };
}
