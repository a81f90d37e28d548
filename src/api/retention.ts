/** `/api/v1/admin/retention` and `/api/v1/admin/legal-holds`: what is disposed of, and what is held from it. */

export interface RetentionRule {
  name: string;
  tenant?: string;
  service?: string;
  maxSeverity?: number;
  maxAgeSeconds: number;
}

export interface LegalHold {
  id: string;
  name: string;
  tenant: string;
  service: string;
  from_time: string | null;
  to_time: string | null;
  reason: string;
  created_by: string;
  created_at: string;
  released_at: string | null;
  released_by: string;
  /**
   * Only these records (`<chain>#<batch_seq>#<batch_pos>`) instead of a
   * service and time range: an incident's pins hold exactly what was pinned.
   */
  records?: string[];
}

export interface RetentionResponse {
  policies: RetentionRule[];
  holds: LegalHold[];
}

/** What one disposal run removed: sealed batches, records, and records per policy. */
export interface DisposalSummary {
  batches: number;
  records: number;
  byPolicy: Record<string, number>;
}

/** `POST /api/v1/admin/retention/run`: a disposal run made now. */
export interface RetentionRunResponse {
  disposed: DisposalSummary;
}

export interface LegalHoldResponse {
  hold: LegalHold;
}
