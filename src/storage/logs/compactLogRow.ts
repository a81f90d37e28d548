import type { LogRecord, MeshFields } from '../../model/logRecord.js';
import { clampNanos, storedLogRecord, type ChainPosition, type StoredLogRow } from './logRows.js';
import { compactLogColumns } from '../engine/logColumns.js';

const json = JSON.stringify;

function unsigned(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0;
}

/** The mesh columns of a record without mesh fields: most records, so written once. */
const noMeshValues = ',"","","","","","",0,0,0,0,""';

/** Each value coerced to what its column stores, exactly as openLogRow does (verify rebuilds it from the stored value). */
function meshValues(mesh: MeshFields): string {
  return (
    `,${json(mesh.mesh ?? '')},${json(mesh.platform ?? '')},${json(mesh.cluster ?? '')}` +
    `,${json(mesh.sourceWorkload ?? '')},${json(mesh.destinationWorkload ?? '')},${json(mesh.protocol ?? '')}` +
    `,${(mesh.responseCode ?? 0) & 0xffff},${Number.isFinite(mesh.durationMs) ? mesh.durationMs : 0}` +
    `,${unsigned(mesh.bytesSent)},${unsigned(mesh.bytesReceived)},${json(mesh.requestId ?? '')}`
  );
}

/**
 * The record as a JSONCompactEachRow array of `compactLogColumns`, left open
 * before its chain position, which the writer appends at commit. Each value
 * is spelt as in openLogRow's JSONEachRow object (the same JSON per value, so
 * the engine stores the same); only the key names are gone. `resourceJson`:
 * `JSON.stringify(record.resource)`, when the caller already has it.
 */
export function openCompactLogRow(record: LogRecord, resourceJson = json(record.resource)): string {
  return (
    `[${json(record.tenant)},"${clampNanos(record.timeUnixNano)}","${clampNanos(record.observedTimeUnixNano)}"` +
    `,${record.severityNumber & 0xff},${json(record.severityText)},${json(record.serviceName)}` +
    `,${json(record.body.isWellFormed() ? record.body : record.body.toWellFormed())}` +
    `,${resourceJson},${json(record.scopeName)},${json(record.scopeVersion)},${json(record.attributes)}` +
    `,${json(record.traceId)},${json(record.spanId)},${record.traceFlags & 0xff},${json(record.eventName)}` +
    `${record.mesh ? meshValues(record.mesh) : noMeshValues},${json(record.receiver)},${json(record.patternId ?? '')}` +
    `,${record.stream?.seq ?? 0},${record.stream?.pos ?? 0}`
  );
}

/** What closes every open compact row of one chain batch, up to its position: `${openRow}${prefix}${batchPos}]\n`. */
export function compactClosingPrefix(chainId: string, batchSeq: number): string {
  return `,${json(chainId)},${batchSeq},`;
}

/** Closes an open compact row with its chain position: one complete JSONCompactEachRow line. */
export function closeCompactLogRow(openRow: string, position: ChainPosition): string {
  return `${openRow}${compactClosingPrefix(position.chainId, position.batchSeq)}${position.batchPos}]\n`;
}

/** The JSONCompactEachRow line a stored row was committed as: the same serializer over the stored values. */
export function storedCompactLogLine(row: StoredLogRow): string {
  return closeCompactLogRow(openCompactLogRow(storedLogRecord(row)), {
    chainId: row.chain_id,
    batchSeq: row.batch_seq,
    batchPos: row.batch_pos,
  });
}
