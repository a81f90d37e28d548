/** `/api/v1/admin/erasure-requests`: right-to-erasure requests, their cancellation window and their evidence. */

export type ErasureStatus = 'pending' | 'cancelled' | 'executed';

/** What an executed request leaves behind, beside the per-batch events in the integrity chain. */
export interface ErasureEvidence {
  executed_at: string;
  trigger: string;
  records: number;
  batches: number;
  /** Matching records a legal hold kept. */
  held: number;
  /** Spans of the scope erased with the records. */
  spans: number;
  /** Mined templates removed because only erased records had been mined into them. */
  patterns: number;
  erased: { chain: string; batch_seq: number; records: number }[];
  /** In a cluster: the record stream up to this instant (the request's first execution, on any node) is covered. */
  stream_covered_until?: string;
  /** In a cluster: the last stream sequence when it first executed; messages up to it are covered (exact, whatever the clocks say). */
  stream_covered_until_seq?: number;
  /** In a cluster: matching records this node took from the stream after the execution (replay) and dropped unstored. */
  dropped_from_stream?: number;
  /** In a cluster: spans of the scope this node took from the stream after the execution and dropped unstored. */
  spans_dropped_from_stream?: number;
}

/** The fields of a request as stored and as answered alike. */
export interface ErasureRequestFields {
  id: string;
  tenant: string;
  /** LogQL stream selector, e.g. {service_name="checkout", user="u-42"}. */
  selector: string;
  reason: string;
  requested_by: string;
  requested_at: string;
  /** End of the cancellation window: the request runs on its own from then on. */
  execute_after: string;
  status: ErasureStatus;
  closed_by: string;
  closed_at: string | null;
  cancel_reason: string;
}

/** A request as the API answers it: its scope in RFC 3339 (inclusive), its evidence once executed. */
export interface ErasureRequestView extends ErasureRequestFields {
  from: string;
  to: string;
  evidence: ErasureEvidence | null;
}

export interface ErasureRequestsResponse {
  requests: ErasureRequestView[];
}

export interface ErasureRequestResponse {
  request: ErasureRequestView;
}
