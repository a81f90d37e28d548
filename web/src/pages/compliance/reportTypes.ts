import type { ServiceCoverageRow, Soc2Report } from '@api/reports';

/** The data of the SOC 2 report's sections the dashboard draws (the report itself: src/api/reports.ts). */

export interface CoverageData {
  services: ServiceCoverageRow[];
  platforms: Record<string, number>;
  receivers: Record<string, number>;
  total_records: number;
  gaps: { tenant: string; service: string; hour?: string; from?: string; to?: string }[];
}

export interface IntegrityData {
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
  chains: {
    chain: string;
    tenant: string;
    head_batch_seq: number;
    head_hash: string;
    last_commit: string;
    latest_checkpoint: { tree_size: number; root_hash: string; created_at: string } | null;
  }[];
}

export interface RetentionData {
  /** Each configuration in force during the period, with the span it applied. */
  policies_in_force: {
    from: string;
    to: string;
    config_sha256: string | null;
    policies: { policy: string; applies_to: string; max_age: string }[];
  }[];
  disposal_interval: string;
  erasure_requests: { id: string; status: string; on_time: boolean | null }[];
  legal_holds: { id: string; name: string; tenant: string; service: string; covers: string; reason: string }[];
  disposal_runs: { time: string; trigger: string; by: string; records: number }[];
  disposed_by_policy: Record<string, number>;
  /** Overdue records by tenant and policy. */
  kept_past_policy: { records: number }[];
  held_past_policy_records: number;
}

export interface AccessData {
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

export function sectionData<T>(report: Soc2Report, id: string): T | undefined {
  return report.sections.find((section) => section.id === id)?.data as T | undefined;
}
