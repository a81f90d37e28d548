import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { attributeMap, idHex, nanos, text, type AnyValue, type Int64, type KeyValue } from './otlpValues.js';
import { otlpRequestFromJson, protobufRefusal } from './otlpEnvelope.js';
import { readOtlpLogsRequest } from './otlpLogsWire.js';
import { loadProtos } from '../../../formats/protoRoot.js';

const root = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'google/rpc/status.proto']);
const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const RpcStatus = root.lookupType('google.rpc.Status');

interface OtlpLogRecord {
  timeUnixNano?: string | number | Int64;
  observedTimeUnixNano?: string | number | Int64;
  severityNumber?: number | string;
  severityText?: string;
  body?: AnyValue;
  attributes?: KeyValue[];
  flags?: number;
  traceId?: string | Uint8Array;
  spanId?: string | Uint8Array;
  eventName?: string;
}
/** An ExportLogsServiceRequest as plain objects: OTLP/JSON, or protobufjs's toObject of the protobuf form. */
export interface OtlpRequest {
  resourceLogs?: {
    resource?: { attributes?: KeyValue[] };
    scopeLogs?: { scope?: { name?: string; version?: string }; logRecords?: OtlpLogRecord[] }[];
  }[];
}

export interface DecodedLogs {
  records: LogRecord[];
  rejected: number;
  /** Why records were rejected: the first reason, for partial_success.error_message. */
  rejectionReason: string;
}

export function decodeOtlpLogsProtobuf(body: Uint8Array, tenant: string, receiver: string): DecodedLogs {
  try {
    return readOtlpLogsRequest(body, tenant, receiver);
  } catch (error) {
    if (error instanceof MeshlogError) throw error;
    throw protobufRefusal(ExportLogsServiceRequest.name, error);
  }
}

export function decodeOtlpLogsJson(body: Uint8Array, tenant: string, receiver: string): DecodedLogs {
  return otlpLogsFromObject(otlpRequestFromJson<OtlpRequest>('ExportLogsServiceRequest', 'resourceLogs', body), tenant, receiver);
}

export function encodeOtlpLogsResponse(rejected: number, errorMessage: string): Uint8Array {
  const payload = rejected > 0 ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage } } : {};
  return ExportLogsServiceResponse.encode(ExportLogsServiceResponse.fromObject(payload)).finish();
}

export function otlpLogsResponseJson(rejected: number, errorMessage: string): object {
  return rejected > 0 ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage } } : { partialSuccess: {} };
}

/** google.rpc.Status, the body of every OTLP error response. */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  return RpcStatus.encode(RpcStatus.fromObject({ code, message })).finish();
}

const severityByName: Record<string, number> = {
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  WARN: 13,
  ERROR: 17,
  FATAL: 21,
};

function severityNumber(value: number | string | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value >= 0 && value <= 24 ? value : 0;
  // OTLP/JSON says integers, but some emitters send the enum name.
  const match = /^SEVERITY_NUMBER_([A-Z]+)(\d?)$/.exec(value);
  if (!match) return Number.isInteger(Number(value)) ? severityNumber(Number(value)) : 0;
  const base = severityByName[match[1]];
  return base === undefined ? 0 : base + (match[2] ? Number(match[2]) - 1 : 0);
}

/** Records from the plain-object form (OTLP/JSON; protobuf is read straight from the wire by otlpLogsWire.ts, to the same records). */
export function otlpLogsFromObject(request: OtlpRequest, tenant: string, receiver: string): DecodedLogs {
  const records: LogRecord[] = [];
  let rejected = 0;
  let rejectionReason = '';
  const observedNow = BigInt(Date.now()) * 1_000_000n;
  for (const resourceLogs of request.resourceLogs ?? []) {
    let resource: Record<string, string>;
    try {
      resource = attributeMap(resourceLogs.resource?.attributes);
    } catch (error) {
      // Every record of a resource that cannot be read is refused; other resources go on.
      if (!(error instanceof MeshlogError)) throw error;
      const count = (resourceLogs.scopeLogs ?? []).reduce((sum, scope) => sum + (scope.logRecords?.length ?? 0), 0);
      rejected += count;
      if (count > 0) rejectionReason ||= `resource attributes: ${error.message}`;
      continue;
    }
    const serviceName = resource['service.name'] ?? '';
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      const scopeName = scopeLogs.scope?.name ?? '';
      const scopeVersion = scopeLogs.scope?.version ?? '';
      for (const log of scopeLogs.logRecords ?? []) {
        const traceId = idHex(log.traceId, 16);
        const spanId = idHex(log.spanId, 8);
        let time: bigint;
        let observed: bigint;
        try {
          time = nanos(log.timeUnixNano);
          observed = nanos(log.observedTimeUnixNano);
        } catch {
          rejected++;
          rejectionReason ||= `invalid timestamp ${JSON.stringify(log.timeUnixNano)}`;
          continue;
        }
        if (traceId === undefined || spanId === undefined) {
          rejected++;
          rejectionReason ||= `invalid trace_id/span_id (trace ids are 16 bytes, span ids 8)`;
          continue;
        }
        if (observed === 0n) observed = observedNow;
        let body: string;
        let attributes: Record<string, string>;
        try {
          body = text(log.body);
          attributes = attributeMap(log.attributes);
        } catch (error) {
          if (!(error instanceof MeshlogError)) throw error;
          rejected++;
          rejectionReason ||= error.message;
          continue;
        }
        records.push({
          tenant,
          // The data model says: no event time → use the observed time.
          timeUnixNano: time === 0n ? observed : time,
          observedTimeUnixNano: observed,
          severityNumber: severityNumber(log.severityNumber),
          severityText: log.severityText ?? '',
          body,
          serviceName,
          resource,
          scopeName,
          scopeVersion,
          attributes,
          traceId,
          spanId,
          traceFlags: (log.flags ?? 0) & 0xff,
          eventName: log.eventName ?? '',
          mesh: undefined,
          receiver,
        });
      }
    }
  }
  return { records, rejected, rejectionReason };
}
