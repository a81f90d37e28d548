import type { ReportSection, Soc2Report } from '../api/reports.js';
import type { MeshlogConfig } from '../config/schema.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import type { KeyView } from '../security/apiKeys.js';
import type { AuditStore, StoredAuditEvent } from '../storage/stores/auditStore.js';
import type { CompliancePeriod, ComplianceQueries } from '../storage/stores/complianceQueries.js';
import type { LegalHold, RetentionStore } from '../storage/stores/retentionStore.js';
import type { IncidentStore } from '../storage/stores/incidentStore.js';
import type { PolicyStore } from '../storage/stores/policyStore.js';
import type { SealStore } from '../storage/logs/sealStore.js';

export type { ReportSection, SectionProvenance, SectionStatus, Soc2Report } from '../api/reports.js';

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
