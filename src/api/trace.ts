/** `GET /api/v1/traces/:traceId`: one trace, as the trace view draws it. */

/** A span of a trace. */
export interface TraceSpan {
  start_ns: string;
  duration_ns: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  span_name: string;
  span_kind: string;
  service_name: string;
  status_code: string;
  status_message: string;
  span_attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
  events_ns: string[];
  events_name: string[];
}

/** A log line of a trace, placed under its span by span_id. */
export interface TraceLog {
  ts: string;
  body: string;
  service_name: string;
  severity_text: string;
  severity_number: number;
  trace_id: string;
  span_id: string;
  log_attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
}

export interface TraceResponse {
  traceId: string;
  spans: TraceSpan[];
  logs: TraceLog[];
}
