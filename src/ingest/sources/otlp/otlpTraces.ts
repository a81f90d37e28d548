import { MeshlogError } from '../../../errors.js';
import type { SpanEvent, SpanRecord } from '../../../model/spanRecord.js';
import { attributeMap, idHex, nanos, type Int64, type KeyValue } from './otlpValues.js';
import { otlpRequestFromJson, otlpRequestFromProtobuf } from './otlpEnvelope.js';
import { loadProtos } from '../../../formats/protoRoot.js';

const root = loadProtos(['opentelemetry/proto/collector/trace/v1/trace_service.proto']);
const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');

interface OtlpSpan {
  traceId?: string | Uint8Array;
  spanId?: string | Uint8Array;
  parentSpanId?: string | Uint8Array;
  traceState?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number | Int64;
  endTimeUnixNano?: string | number | Int64;
  attributes?: KeyValue[];
  events?: { timeUnixNano?: string | number | Int64; name?: string; attributes?: KeyValue[] }[];
  status?: { code?: number | string; message?: string };
}
interface OtlpTracesRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }[];
  }[];
}

export interface DecodedSpans {
  spans: SpanRecord[];
  rejected: number;
  /** The first reason a span was rejected, for partial_success.error_message. */
  rejectionReason: string;
}

export function decodeOtlpTracesProtobuf(body: Uint8Array, tenant: string, receiver: string): DecodedSpans {
  return toSpans(otlpRequestFromProtobuf<OtlpTracesRequest>(ExportTraceServiceRequest, body), tenant, receiver);
}

export function decodeOtlpTracesJson(body: Uint8Array, tenant: string, receiver: string): DecodedSpans {
  return toSpans(otlpRequestFromJson<OtlpTracesRequest>('ExportTraceServiceRequest', 'resourceSpans', body), tenant, receiver);
}

export function encodeOtlpTracesResponse(rejected: number, errorMessage: string): Uint8Array {
  const payload = rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage } } : {};
  return ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(payload)).finish();
}

export function otlpTracesResponseJson(rejected: number, errorMessage: string): object {
  return rejected > 0 ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage } } : { partialSuccess: {} };
}

const spanKinds = ['', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const statusCodes = ['UNSET', 'OK', 'ERROR'];

/** OTLP/JSON says integers for enums; some emitters send the names (SPAN_KIND_SERVER, STATUS_CODE_ERROR). */
function enumName(value: number | string | undefined, names: string[], prefix: string): string {
  if (value === undefined) return names[0];
  if (typeof value === 'number') return names[value] ?? names[0];
  const bare = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  return names.includes(bare) ? bare : (names[Number(bare)] ?? names[0]);
}

function toSpans(request: OtlpTracesRequest, tenant: string, receiver: string): DecodedSpans {
  const out: DecodedSpans = { spans: [], rejected: 0, rejectionReason: '' };
  const reject = (reason: string) => {
    out.rejected++;
    out.rejectionReason ||= reason;
  };
  for (const resourceSpans of request.resourceSpans ?? []) {
    let resource: Record<string, string>;
    try {
      resource = attributeMap(resourceSpans.resource?.attributes);
    } catch (error) {
      // Every span of a resource that cannot be read is refused; other resources go on.
      if (!(error instanceof MeshlogError)) throw error;
      for (const scopeSpans of resourceSpans.scopeSpans ?? [])
        for (const _span of scopeSpans.spans ?? []) reject(`resource attributes: ${error.message}`);
      continue;
    }
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        const traceId = idHex(span.traceId, 16);
        const spanId = idHex(span.spanId, 8);
        const parentSpanId = idHex(span.parentSpanId, 8);
        if (!traceId || !spanId || parentSpanId === undefined) {
          reject('invalid trace_id/span_id/parent_span_id (trace ids are 16 bytes, span ids 8; both required)');
          continue;
        }
        let start: bigint;
        let end: bigint;
        let events: SpanEvent[];
        let attributes: Record<string, string>;
        try {
          attributes = attributeMap(span.attributes);
        } catch (error) {
          if (!(error instanceof MeshlogError)) throw error;
          reject(error.message);
          continue;
        }
        try {
          start = nanos(span.startTimeUnixNano);
          end = nanos(span.endTimeUnixNano);
          events = (span.events ?? []).map((event) => ({
            timeUnixNano: nanos(event.timeUnixNano),
            name: event.name ?? '',
            attributes: attributeMap(event.attributes),
          }));
        } catch (error) {
          reject(error instanceof MeshlogError ? error.message : `invalid timestamp in span ${spanId}`);
          continue;
        }
        out.spans.push({
          tenant,
          traceId,
          spanId,
          parentSpanId,
          traceState: span.traceState ?? '',
          name: span.name ?? '',
          kind: enumName(span.kind, spanKinds, 'SPAN_KIND_'),
          startTimeUnixNano: start,
          durationNano: end > start ? end - start : 0n,
          serviceName: resource['service.name'] ?? '',
          resource,
          scopeName: scopeSpans.scope?.name ?? '',
          scopeVersion: scopeSpans.scope?.version ?? '',
          attributes,
          statusCode: enumName(span.status?.code, statusCodes, 'STATUS_CODE_'),
          statusMessage: span.status?.message ?? '',
          events,
          receiver,
        });
      }
    }
  }
  return out;
}
