import type { SpanRecord } from '../../model/spanRecord.js';
import type { Storage } from '../engine/storage.js';

/** A span as one JSONEachRow line of the spans table. */
export function spanRow(span: SpanRecord): string {
  return `${JSON.stringify({
    tenant: span.tenant,
    timestamp: span.startTimeUnixNano.toString(),
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    trace_state: span.traceState,
    span_name: span.name,
    span_kind: span.kind,
    service_name: span.serviceName,
    resource_attributes: span.resource,
    scope_name: span.scopeName,
    scope_version: span.scopeVersion,
    span_attributes: span.attributes,
    duration_ns: span.durationNano.toString(),
    status_code: span.statusCode,
    status_message: span.statusMessage,
    events_timestamp: span.events.map((event) => event.timeUnixNano.toString()),
    events_name: span.events.map((event) => event.name),
    events_attributes: span.events.map((event) => event.attributes),
    receiver: span.receiver,
  })}\n`;
}

/** Inserts spans into the spans table; resolves once committed. */
export async function insertSpans(storage: Storage, spans: SpanRecord[]): Promise<void> {
  if (spans.length > 0) await storage.insertJsonLines('spans', spans.map(spanRow).join(''));
}
