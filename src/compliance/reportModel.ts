import type { MeshlogConfig } from '../config/schema.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import type { KeyView } from '../security/apiKeys.js';
import type { AuditStore, StoredAuditEvent } from '../storage/stores/auditStore.js';
import type { CompliancePeriod, ComplianceQueries, RecordedQuery } from '../storage/stores/complianceQueries.js';
import type { LegalHold, RetentionStore } from '../storage/stores/retentionStore.js';
import type { IncidentStore } from '../storage/stores/incidentStore.js';
import type { PolicyStore } from '../storage/stores/policyStore.js';
import type { ReportSignature } from './reportSignature.js';
import type { SealStore } from '../storage/logs/sealStore.js';

export type SectionStatus = 'pass' | 'attention' | 'fail';

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

/** What a report reads: storage through its query classes, and the running server's own state. */
export interface ReportSources {
  queries: ComplianceQueries;
  auditStore: AuditStore;
  /** Absent when sealing is off. */
  integrity: { store: SealStore; verifierKey: string } | undefined;
  keys: () => KeyView[];
  config: MeshlogConfig;
  serverStartedAt: string;
  /** Records (per reason) and requests (per error code) refused since the server started. */
  ingestRefusals: () => Promise<{ records: Record<string, number>; requests: Record<string, number> }>;
  /** Signs every report (the integrity checkpoint key, published as `<key file>.pub`). */
  signer: NoteSigner;
  /** Legal holds (the retention section). */
  retention: RetentionStore;
  /** Applied logging policies and their drift events (the policy section). */
  policy: PolicyStore;
  /** Incident timelines (the incidents section). */
  incidents: IncidentStore;
  /** Holds besides legal holds in force now (incidents' pinned records), so the records they keep are not overdue. */
  recordHolds: () => Promise<LegalHold[]>;
}

/** What every section builder gets: the sources, the period, and the audit events of the period read once. */
export interface SectionInput {
  sources: ReportSources;
  period: CompliancePeriod;
  /** Audit events of the period, oldest first. */
  audit: StoredAuditEvent[];
}

/** ClickHouse prints DateTime64 as `YYYY-MM-DD hh:mm:ss.fff` in UTC; ISO strings pass through. */
export function parseStoredTime(value: string): number {
  return Date.parse(/[TZ]/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
}

/**
 * The longest period one report covers. A SOC 2 Type II period is 3 to 12
 * months; the coverage section lists every silent hour and the capacity
 * section every day, so `from=0` would build a report of millions of entries.
 */
export const maxReportPeriodDays = 400;

export const isoOfNs = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();

/** A stored time (ClickHouse's `YYYY-MM-DD hh:mm:ss.fff`, UTC) as UTC ISO 8601 with `Z`. */
export const isoOfStored = (value: string): string => new Date(parseStoredTime(value)).toISOString();
