import type { LogRecord, MeshFields } from '../../model/logRecord.js';

/** Where a record sits in the integrity chain: assigned by the writer at commit. */
export interface ChainPosition {
  chainId: string;
  batchSeq: number;
  batchPos: number;
}

const maxNanos = 2n ** 63n - 1n;

/**
 * A time in what DateTime64(9) as meshlog stores it can hold (0..2^63-1 ns): the last guard before storage.
 * Every value is coerced to what its column stores, so that the line sealed at commit is exactly the line
 * rebuilt from the stored row at verify time.
 */
export function clampNanos(nanos: bigint): bigint {
  return nanos < 0n ? 0n : nanos > maxNanos ? maxNanos : nanos;
}

function unsigned(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0;
}

const json = JSON.stringify;

/** The mesh columns of a record without mesh fields: most records, so written once. */
const noMeshColumns =
  ',"mesh":"","platform":"","cluster":"","source_workload":"","destination_workload":"","protocol":"",' +
  '"response_code":0,"duration_ms":0,"bytes_sent":0,"bytes_received":0,"request_id":""';

function meshColumns(mesh: MeshFields): string {
  return (
    `,"mesh":${json(mesh.mesh ?? '')},"platform":${json(mesh.platform ?? '')},"cluster":${json(mesh.cluster ?? '')}` +
    `,"source_workload":${json(mesh.sourceWorkload ?? '')},"destination_workload":${json(mesh.destinationWorkload ?? '')}` +
    `,"protocol":${json(mesh.protocol ?? '')},"response_code":${(mesh.responseCode ?? 0) & 0xffff}` +
    `,"duration_ms":${Number.isFinite(mesh.durationMs) ? mesh.durationMs : 0},"bytes_sent":${unsigned(mesh.bytesSent)}` +
    `,"bytes_received":${unsigned(mesh.bytesReceived)},"request_id":${json(mesh.requestId ?? '')}`
  );
}

/**
 * The record as a JSONEachRow object of the logs table, left open so the
 * writer can append the chain position at commit without re-serializing.
 * Written field by field rather than through JSON.stringify of a fresh object
 * (no object per row for the GC, a quarter less encoding time); the bytes are
 * exactly what JSON.stringify of that object gave, which sealed rows depend on
 * (test/storage/logs/logRowEncoding.test.ts compares them). `resourceJson`:
 * `JSON.stringify(record.resource)`, when the caller already has it (the
 * records of one OTLP resource share its attributes).
 */
export function openLogRow(record: LogRecord, resourceJson = json(record.resource)): string {
  const row =
    `{"tenant":${json(record.tenant)},"timestamp":"${clampNanos(record.timeUnixNano)}"` +
    `,"observed_timestamp":"${clampNanos(record.observedTimeUnixNano)}","severity_number":${record.severityNumber & 0xff}` +
    `,"severity_text":${json(record.severityText)},"service_name":${json(record.serviceName)}` +
    `,"body":${json(record.body.isWellFormed() ? record.body : record.body.toWellFormed())}` +
    `,"resource_attributes":${resourceJson},"scope_name":${json(record.scopeName)}` +
    `,"scope_version":${json(record.scopeVersion)},"log_attributes":${json(record.attributes)}` +
    `,"trace_id":${json(record.traceId)},"span_id":${json(record.spanId)},"trace_flags":${record.traceFlags & 0xff}` +
    `,"event_name":${json(record.eventName)}${record.mesh ? meshColumns(record.mesh) : noMeshColumns}` +
    `,"receiver":${json(record.receiver)}`;
  // Written only when assigned, so lines sealed before pattern mining (or clustering) existed still verify.
  const withPattern = record.patternId ? `${row},"pattern_id":${json(record.patternId)}` : row;
  return record.stream ? `${withPattern},"stream_seq":${record.stream.seq},"stream_pos":${record.stream.pos}` : withPattern;
}

/** What closes every open row of one chain batch, up to its position: `${openRow}${prefix}${batchPos}}\n`. */
export function closingPrefix(chainId: string, batchSeq: number): string {
  return `,"chain_id":${JSON.stringify(chainId)},"batch_seq":${batchSeq},"batch_pos":`;
}

/** Closes an open row with its chain position: one complete JSONEachRow line. */
export function closeLogRow(openRow: string, position: ChainPosition): string {
  return `${openRow}${closingPrefix(position.chainId, position.batchSeq)}${position.batchPos}}\n`;
}

/** A logs row as read back for verification (64-bit integers as numbers, times as ns strings). */
export interface StoredLogRow {
  tenant: string;
  timestamp: string;
  observed_timestamp: string;
  severity_number: number;
  severity_text: string;
  service_name: string;
  body: string;
  resource_attributes: Record<string, string>;
  scope_name: string;
  scope_version: string;
  log_attributes: Record<string, string>;
  trace_id: string;
  span_id: string;
  trace_flags: number;
  event_name: string;
  mesh: string;
  platform: string;
  cluster: string;
  source_workload: string;
  destination_workload: string;
  protocol: string;
  response_code: number;
  duration_ms: number;
  bytes_sent: number;
  bytes_received: number;
  request_id: string;
  receiver: string;
  pattern_id: string;
  chain_id: string;
  batch_seq: number;
  batch_pos: number;
  /** 0 (or absent: a store from before migration 28) for a record that did not come through a cluster's stream. */
  stream_seq?: number | string;
  stream_pos?: number | string;
}

/** The record a stored row holds, as the line serializers take it (rebuilding the line it was committed as). */
export function storedLogRecord(row: StoredLogRow): LogRecord {
  return {
    tenant: row.tenant,
    timeUnixNano: BigInt(row.timestamp),
    observedTimeUnixNano: BigInt(row.observed_timestamp),
    severityNumber: row.severity_number,
    severityText: row.severity_text,
    serviceName: row.service_name,
    body: row.body,
    resource: row.resource_attributes,
    scopeName: row.scope_name,
    scopeVersion: row.scope_version,
    attributes: row.log_attributes,
    traceId: row.trace_id,
    spanId: row.span_id,
    traceFlags: row.trace_flags,
    eventName: row.event_name,
    mesh: {
      mesh: row.mesh,
      platform: row.platform,
      cluster: row.cluster,
      sourceWorkload: row.source_workload,
      destinationWorkload: row.destination_workload,
      protocol: row.protocol,
      responseCode: row.response_code,
      durationMs: row.duration_ms,
      bytesSent: row.bytes_sent,
      bytesReceived: row.bytes_received,
      requestId: row.request_id,
    },
    receiver: row.receiver,
    patternId: row.pattern_id,
    stream: Number(row.stream_seq ?? 0) > 0 ? { seq: Number(row.stream_seq), pos: Number(row.stream_pos ?? 0) } : undefined,
  };
}

/** The JSONEachRow line a stored row was committed as: the same serializer over the stored values. */
export function storedLogLine(row: StoredLogRow): string {
  return closeLogRow(openLogRow(storedLogRecord(row)), { chainId: row.chain_id, batchSeq: row.batch_seq, batchPos: row.batch_pos });
}

/** The SELECT list that reads rows in the StoredLogRow shape. */
export const storedLogColumns = `tenant, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp,
  toString(toUnixTimestamp64Nano(observed_timestamp)) AS observed_timestamp, severity_number, severity_text,
  service_name, body, resource_attributes, scope_name, scope_version, log_attributes, trace_id, span_id,
  trace_flags, event_name, mesh, platform, cluster, source_workload, destination_workload, protocol,
  response_code, duration_ms, bytes_sent, bytes_received, request_id, receiver, pattern_id, chain_id, batch_seq, batch_pos, stream_seq, stream_pos`;
