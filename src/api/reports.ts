/** `/api/v1/reports`: the SOC 2 report's JSON evidence (src/compliance/) and the dashboard built from it. */

export type SectionStatus = 'pass' | 'attention' | 'fail';

/** One query a report ran, as sent (whitespace folded) with its parameters: the provenance of a figure. */
export interface RecordedQuery {
  sql: string;
  params: Record<string, unknown>;
}

export interface ServiceCoverageRow {
  tenant: string;
  service: string;
  records: number;
  platforms: string[];
  clusters: string[];
  meshes: string[];
  receivers: string[];
  first_seen: string;
  last_seen: string;
}

/** A report's Ed25519 signature (see src/integrity/reportSignature.ts). */
export interface ReportSignature {
  algorithm: 'Ed25519';
  /** What exactly was signed. */
  signed: string;
  /** Verifier key of the signer (`<name>+<hash>+<base64 key>`). */
  key: string;
  /** Base64 Ed25519 signature. */
  value: string;
}

/** One part of the report: what it evidences, how it stands and why, and the data behind it. */
export interface ReportSection {
  id: string;
  title: string;
  /** Trust Services Criteria this section is evidence for. */
  criteria: string[];
  status: SectionStatus;
  reason: string;
  data: Record<string, unknown>;
  /** Where the figures come from: the storage queries run for this section and the other inputs it read. */
  provenance?: SectionProvenance;
}

export interface SectionProvenance {
  queries: RecordedQuery[];
  inputs: string[];
}

export interface Soc2Report {
  report: 'soc2';
  format_version: 2;
  generated_at: string;
  generated_by: { id: string; name: string };
  period: { from: string; to: string };
  /** null = every tenant. */
  tenant: string | null;
  /** Audit events of the period the sections read; truncated when the period held more than could be read at once. */
  audit_events: { read: number; truncated: boolean };
  /** The hash of the sections read only from stored events of the period: equal for every regeneration and every format of one period. */
  period_evidence: { sha256: string; sections: string[]; rule: string };
  summary: { id: string; title: string; criteria: string[]; status: SectionStatus; reason: string }[];
  sections: ReportSection[];
  /** How the report was made: by which program and key, and the audit-trail read every section shares. */
  provenance: {
    generator: string;
    server_started_at: string;
    signing_key: string;
    audit_events_query: { source: string; from: string; to: string; limit: number };
  };
  /** Ed25519 over the canonical JSON of everything above (see reportSignature.ts). */
  signature?: ReportSignature;
}

/** `GET /api/v1/reports/soc2/dashboard`: a report of the last hours, cached for a while. */
export interface DashboardResponse {
  generatedAt: string;
  cached: boolean;
  report: Soc2Report;
}

/** A stored report's fields, as stored and as listed alike. */
export interface StoredReportFields {
  id: string;
  kind: string;
  period_from: string;
  period_to: string;
  generated_at: string;
  generated_by: string;
  sha256: string;
}

/** `GET /api/v1/reports`: a report the monthly schedule stored; `tenant` null for every tenant. */
export interface StoredReportListing extends StoredReportFields {
  tenant: string | null;
  summary: Soc2Report['summary'];
}

export interface StoredReportsResponse {
  reports: StoredReportListing[];
}
