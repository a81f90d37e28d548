/**
 * One span of a distributed trace (OpenTelemetry's span model), as Zipkin
 * and OTLP traces receivers produce it; stored beside the logs so the logs
 * and spans of one trace can be joined on trace_id.
 */
export interface SpanRecord {
  tenant: string;
  /** 32 lowercase hex characters (64-bit Zipkin ids are left-padded with zeros). */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  /** 16 lowercase hex characters, or empty for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER, or '' when unspecified. */
  kind: string;
  startTimeUnixNano: bigint;
  durationNano: bigint;
  serviceName: string;
  resource: Record<string, string>;
  scopeName: string;
  scopeVersion: string;
  attributes: Record<string, string>;
  /** UNSET, OK or ERROR. */
  statusCode: string;
  statusMessage: string;
  events: SpanEvent[];
  /** Name of the receiver that accepted the span (zipkin, otlp_http…). */
  receiver: string;
}

/** A timestamped annotation of a span (an OTel event, a Zipkin annotation). */
export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Record<string, string>;
}
