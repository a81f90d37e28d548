export interface TraceContext {
  /** 32 lowercase hex. */
  traceId: string;
  /** 16 lowercase hex, or ''. */
  spanId: string;
  sampled: boolean | undefined;
}

const hex = /^[0-9a-f]+$/;
const zeros = /^0+$/;

/** A trace id in hex (64-bit B3 ids widened to 128 bits as B3 prescribes); undefined when invalid or all zero. */
export function normalizeTraceId(value: string): string | undefined {
  const id = value.length === 36 && value.charCodeAt(8) === 45 ? value.replaceAll('-', '') : value;
  const lower = id.toLowerCase();
  if ((lower.length !== 32 && lower.length !== 16) || !hex.test(lower) || zeros.test(lower)) return undefined;
  return lower.length === 16 ? `0000000000000000${lower}` : lower;
}

export function normalizeSpanId(value: string): string | undefined {
  const lower = value.toLowerCase();
  return lower.length === 16 && hex.test(lower) && !zeros.test(lower) ? lower : undefined;
}

/** W3C `traceparent: 00-<trace>-<parent span>-<flags>`. */
export function parseTraceparent(value: string): TraceContext | undefined {
  const parts = value.trim().split('-');
  if (parts.length < 4 || parts[0].length !== 2 || parts[0] === 'ff' || parts[1].length !== 32 || parts[3].length !== 2) return undefined;
  const traceId = normalizeTraceId(parts[1]);
  const spanId = normalizeSpanId(parts[2]);
  if (!traceId || !spanId || !hex.test(parts[3])) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(parts[3], 16) & 1) === 1 };
}

/** B3 single header `b3: {TraceId}-{SpanId}-{SamplingState}-{ParentSpanId}` (a lone `0`/`1`/`d` carries no ids). */
export function parseB3Single(value: string): TraceContext | undefined {
  const parts = value.trim().split('-');
  if (parts.length < 2) return undefined;
  const traceId = normalizeTraceId(parts[0]);
  const spanId = normalizeSpanId(parts[1]);
  if (!traceId || !spanId) return undefined;
  const sampled = parts[2] === undefined ? undefined : parts[2] === '1' || parts[2] === 'd';
  return { traceId, spanId, sampled };
}

/** B3 multi headers `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`. */
export function parseB3Multi(
  traceIdHeader: string,
  spanIdHeader: string | undefined,
  sampledHeader: string | undefined,
): TraceContext | undefined {
  const traceId = normalizeTraceId(traceIdHeader.trim());
  if (!traceId) return undefined;
  const spanId = spanIdHeader === undefined ? '' : (normalizeSpanId(spanIdHeader.trim()) ?? '');
  const sampled = sampledHeader === undefined ? undefined : sampledHeader === '1' || sampledHeader === 'true';
  return { traceId, spanId, sampled };
}

/** Attribute names under which parsers and applications leave a bare trace id (Envoy %TRACE_ID%, JSON logs). */
const traceIdKeys = ['mesh.trace_id', 'trace_id', 'traceId', 'trace.id', 'traceid', 'otelTraceID', 'dd.trace_id_128'];
const spanIdKeys = ['span_id', 'spanId', 'span.id', 'spanid', 'otelSpanID'];

/**
 * The trace a record belongs to, from its attributes, first match wins:
 * traceparent, B3 single, B3 multi, then a bare trace id (Envoy %TRACE_ID%,
 * `trace_id` in application logs). Header attributes use OTel's
 * `http.request.header.<name>`; the bare header names are accepted too.
 */
export function traceContextOf(attributes: Record<string, string>): TraceContext | undefined {
  const traceparent = attributes['http.request.header.traceparent'] ?? attributes.traceparent;
  if (traceparent !== undefined) {
    const context = parseTraceparent(traceparent);
    if (context) return context;
  }
  const b3 = attributes['http.request.header.b3'] ?? attributes.b3;
  if (b3 !== undefined) {
    const context = parseB3Single(b3);
    if (context) return context;
  }
  const b3TraceId = attributes['http.request.header.x-b3-traceid'] ?? attributes['x-b3-traceid'];
  if (b3TraceId !== undefined) {
    const context = parseB3Multi(
      b3TraceId,
      attributes['http.request.header.x-b3-spanid'] ?? attributes['x-b3-spanid'],
      attributes['http.request.header.x-b3-sampled'] ?? attributes['x-b3-sampled'],
    );
    if (context) return context;
  }
  for (const key of traceIdKeys) {
    const value = attributes[key];
    if (value === undefined) continue;
    const traceId = normalizeTraceId(value);
    if (!traceId) continue;
    let spanId = '';
    for (const spanKey of spanIdKeys) {
      const span = attributes[spanKey];
      if (span !== undefined) {
        spanId = normalizeSpanId(span) ?? '';
        break;
      }
    }
    return { traceId, spanId, sampled: undefined };
  }
  return undefined;
}

const requestIdKeys = ['http.request.header.x-request-id', 'x-request-id', 'x_request_id', 'request_id', 'requestId'];

/** Envoy's `x-request-id` (a UUID kept for joining an access log to the app logs of the same request). */
export function requestIdOf(attributes: Record<string, string>): string {
  for (const key of requestIdKeys) {
    const value = attributes[key];
    if (value !== undefined && value.length > 0 && value.length <= 128) return value;
  }
  return '';
}
