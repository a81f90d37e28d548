import type { LogRecord } from '../model/logRecord.js';

/** Where a record sits in the integrity chain: assigned by the writer at commit. */
export interface ChainPosition {
  chainId: string;
  batchSeq: number;
  batchPos: number;
}

/**
 * The record as a JSONEachRow object of the logs table, left open so the
 * writer can append the chain position at commit without re-serializing.
 */
export function openLogRow(record: LogRecord): string {
  const mesh = record.mesh;
  return JSON.stringify({
    tenant: record.tenant,
    timestamp: record.timeUnixNano.toString(),
    observed_timestamp: record.observedTimeUnixNano.toString(),
    severity_number: record.severityNumber,
    severity_text: record.severityText,
    service_name: record.serviceName,
    body: record.body,
    resource_attributes: record.resource,
    scope_name: record.scopeName,
    scope_version: record.scopeVersion,
    log_attributes: record.attributes,
    trace_id: record.traceId,
    span_id: record.spanId,
    trace_flags: record.traceFlags,
    event_name: record.eventName,
    mesh: mesh?.mesh ?? '',
    platform: mesh?.platform ?? '',
    cluster: mesh?.cluster ?? '',
    source_workload: mesh?.sourceWorkload ?? '',
    destination_workload: mesh?.destinationWorkload ?? '',
    protocol: mesh?.protocol ?? '',
    response_code: mesh?.responseCode ?? 0,
    duration_ms: mesh?.durationMs ?? 0,
    bytes_sent: mesh?.bytesSent ?? 0,
    bytes_received: mesh?.bytesReceived ?? 0,
    request_id: mesh?.requestId ?? '',
    receiver: record.receiver,
  }).slice(0, -1);
}

/** Closes an open row with its chain position: one complete JSONEachRow line. */
export function closeLogRow(openRow: string, position: ChainPosition): string {
  return `${openRow},"chain_id":${JSON.stringify(position.chainId)},"batch_seq":${position.batchSeq},"batch_pos":${position.batchPos}}\n`;
}
