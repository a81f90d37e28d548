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

/**
 * What of a section's `data` the report promises and the dashboard draws
 * (web/src/pages/compliance/); each section builder in src/compliance/ is
 * checked against its type, and carries more (rules, notes, event lists).
 */
export interface CoverageSectionData {
  services: ServiceCoverageRow[];
  platforms: Record<string, number>;
  receivers: Record<string, number>;
  total_records: number;
  /** Services with hours without a record, and those hours. */
  gaps: { tenant: string; service: string; hours: string[] }[];
}

export interface IntegritySectionData {
  sealing: boolean;
  verification?: {
    ok: boolean;
    chains: number;
    batches: number;
    records: number;
    checkpoints: number;
    findings_total: number;
    elapsedMs: number;
  };
  chains?: {
    chain: string;
    tenant: string;
    head_batch_seq: number;
    head_hash: string;
    last_commit: string;
    latest_checkpoint: { tree_size: number; root_hash: string; created_at: string } | null;
  }[];
}

/** One retention policy as the report lists it. */
export interface RetentionPolicyDescription {
  policy: string;
  applies_to: string;
  max_age: string;
}

export interface RetentionSectionData {
  /** Each configuration in force during the period, with the span it applied. */
  policies_in_force: { from: string; to: string; config_sha256: string | null; policies: RetentionPolicyDescription[] }[];
  disposal_interval: string;
  erasure_requests: { id: string; status: string; on_time: boolean | null }[];
  legal_holds: { id: string; name: string; tenant: string; service: string; covers: string; reason: string }[];
  /** Each `retention.dispose` audit event of the period: `trigger` and `records` as its detail recorded them. */
  disposal_runs: { time: string; by: string; trigger: unknown; records: unknown }[];
  disposed_by_policy: Record<string, number>;
  /** Overdue records by tenant and policy. */
  kept_past_policy: { records: number }[];
  held_past_policy_records: number;
}

export interface AccessSectionData {
  keys_as_of_period_end: {
    id: string;
    name: string;
    roles: string[];
    tenants: string[];
    last_used_at: string | null;
    state_at_period_end: string;
  }[];
  grants: unknown[];
  revocations: unknown[];
  unused_keys: { rule: string; keys: unknown[] };
  failed_logins: { total: number };
  denied_requests: { total: number };
}
