import { MeshlogError } from '../../../errors.js';
import type { SpanRecord } from '../../../model/spanRecord.js';
import { attributeText } from '../shared/flattenFields.js';
import { nestingRefusal, nestsDeeperThan } from '../../../formats/nesting.js';
import { parseWellFormedJson } from '../../../formats/wellFormedText.js';

export interface DecodedZipkin {
  spans: SpanRecord[];
  /** Why spans were refused, by position in the list. */
  rejections: string[];
}

interface Endpoint {
  serviceName?: unknown;
  ipv4?: unknown;
  ipv6?: unknown;
  port?: unknown;
}

const kinds = new Set(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']);

/** Zipkin v2 JSON (`POST /api/v2/spans`): a list of spans with microsecond times. */
export function decodeZipkinSpans(body: Buffer, tenant: string, receiver: string): DecodedZipkin {
  let list: unknown;
  try {
    list = parseWellFormedJson(body.toString('utf8'));
  } catch (error) {
    throw new MeshlogError('ML_DECODE', `invalid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(list)) throw new MeshlogError('ML_DECODE', 'a JSON list of Zipkin v2 spans was expected');
  const out: DecodedZipkin = { spans: [], rejections: [] };
  list.forEach((item: unknown, position) => {
    const span =
      item === null || typeof item !== 'object' || Array.isArray(item)
        ? 'a span object was expected'
        : nestsDeeperThan(item)
          ? `the span ${nestingRefusal}`
          : toSpan(item as Record<string, unknown>, tenant, receiver);
    if (typeof span === 'string') out.rejections.push(`span ${position}: ${span}`);
    else out.spans.push(span);
  });
  return out;
}

function hexId(value: unknown, lengths: number[]): string | undefined {
  return typeof value === 'string' && lengths.includes(value.length) && /^[0-9a-fA-F]+$/.test(value) ? value.toLowerCase() : undefined;
}

/** Zipkin times are integer microseconds since the epoch. */
function micros(value: unknown): bigint | undefined {
  if (value === undefined || value === null) return 0n;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? BigInt(value) * 1000n : undefined;
}

function toSpan(span: Record<string, unknown>, tenant: string, receiver: string): SpanRecord | string {
  const traceId = hexId(span.traceId, [16, 32]);
  if (!traceId) return 'traceId must be 16 or 32 hex characters';
  const spanId = hexId(span.id, [16]);
  if (!spanId) return 'id must be 16 hex characters';
  const parentSpanId = span.parentId === undefined || span.parentId === null ? '' : hexId(span.parentId, [16]);
  if (parentSpanId === undefined) return 'parentId must be 16 hex characters';
  const start = micros(span.timestamp);
  const duration = micros(span.duration);
  if (start === undefined || duration === undefined) return 'timestamp and duration must be integer microseconds';
  const kind = typeof span.kind === 'string' && kinds.has(span.kind) ? span.kind : '';
  const tags =
    span.tags !== null && typeof span.tags === 'object' && !Array.isArray(span.tags) ? (span.tags as Record<string, unknown>) : {};
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) attributes[key] = attributeText(value);
  const local = (span.localEndpoint ?? {}) as Endpoint;
  const remote = (span.remoteEndpoint ?? {}) as Endpoint;
  if (remote.serviceName) attributes['peer.service'] = attributeText(remote.serviceName);
  if (remote.ipv4 || remote.ipv6) attributes['network.peer.address'] = attributeText(remote.ipv4 ?? remote.ipv6);
  if (remote.port) attributes['network.peer.port'] = attributeText(remote.port);
  const serviceName = typeof local.serviceName === 'string' ? local.serviceName : '';
  const resource: Record<string, string> = {};
  if (serviceName) resource['service.name'] = serviceName;
  if (local.ipv4 || local.ipv6) resource['host.ip'] = attributeText(local.ipv4 ?? local.ipv6);
  // Zipkin has no status field: tracers write `error` (and OTel's exporter `otel.status_code`) as tags.
  const statusCode = attributes['otel.status_code'] ?? ('error' in attributes ? 'ERROR' : 'UNSET');
  const annotations = Array.isArray(span.annotations) ? (span.annotations as { timestamp?: unknown; value?: unknown }[]) : [];
  return {
    tenant,
    traceId: traceId.padStart(32, '0'),
    spanId,
    parentSpanId,
    traceState: '',
    name: typeof span.name === 'string' ? span.name : '',
    kind,
    startTimeUnixNano: start,
    durationNano: duration,
    serviceName,
    resource,
    scopeName: '',
    scopeVersion: '',
    attributes,
    statusCode,
    statusMessage: attributes['otel.status_description'] ?? attributes.error ?? '',
    events: annotations.map((annotation) => ({
      timeUnixNano: micros(annotation.timestamp) ?? 0n,
      name: attributeText(annotation.value),
      attributes: {},
    })),
    receiver,
  };
}
