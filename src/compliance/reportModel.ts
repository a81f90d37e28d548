import type { MeshlogConfig } from '../config/schema.js';
import type { KeyView } from '../security/apiKeys.js';
import type { AuditStore, StoredAuditEvent } from '../storage/auditStore.js';
import type { CompliancePeriod, ComplianceQueries } from '../storage/complianceQueries.js';
import type { SealStore } from '../storage/sealStore.js';

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
}

export interface Soc2Report {
  report: 'soc2';
  format_version: 1;
  generated_at: string;
  generated_by: { id: string; name: string };
  period: { from: string; to: string };
  /** null = every tenant. */
  tenant: string | null;
  /** Audit events of the period the sections read; truncated when the period held more than could be read at once. */
  audit_events: { read: number; truncated: boolean };
  summary: { id: string; title: string; criteria: string[]; status: SectionStatus; reason: string }[];
  sections: ReportSection[];
}

/** What a report reads: storage through its query classes, and the running server's own state. */
export interface ReportSources {
  queries: ComplianceQueries;
  auditStore: AuditStore;
  /** Absent when sealing is off. */
  integrity: { store: SealStore; verifierKey: string } | undefined;
  keys: () => KeyView[];
  config: MeshlogConfig;
  /** Values redacted per rule since the server started (the meshlog_redactions_total counter). */
  redactionCounts: () => Promise<Record<string, number>>;
  serverStartedAt: string;
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

export const isoOfNs = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();
