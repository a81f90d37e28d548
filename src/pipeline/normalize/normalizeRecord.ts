import type { LogRecord } from '../../model/logRecord.js';
import { parseKubernetesLogPath } from '../../formats/kubernetesLogPath.js';
import type { ParsedLine } from '../parse/parsedLine.js';
import { meshFieldsOf } from './meshFields.js';
import { isUnknownServiceName, resolveServiceName } from './serviceName.js';
import { markConnection, severityOfExchange } from './exchangeSeverity.js';
import { severityNumberOf, severityTextOf } from './severity.js';
import { parseTimestampNanos } from '../../formats/timestamp.js';
import { traceContextOf } from './traceContext.js';

/**
 * Adds what a kubelet log path says (namespace, pod, uid, container) to a
 * resource that lacks it. The resource is copied, not changed: records of one
 * request share it, and each may come from a different file.
 */
function addKubernetesSource(record: LogRecord): void {
  const path = record.resource['log.file.path'] ?? record.attributes['log.file.path'];
  if (path === undefined || record.resource['k8s.pod.name'] !== undefined) return;
  const source = parseKubernetesLogPath(path);
  if (source) record.resource = { ...record.resource, ...source };
}

/** Where a record whose timestamp is its entry's time keeps its line's own time (ns) when that differs. */
export const lineTimeAttribute = 'meshlog.line_time';

/**
 * Fills a record's normalized fields from its parsed line (if any) and its
 * own attributes: time, severity, trace context, mesh fields, service name.
 * What the sender set explicitly wins over what the line says, except the
 * time: the line's own time is the event time, a shipper's is when it read it.
 * A record whose timestamp is its entry's own time (`timeIsEntryTime`: Loki
 * push, where Loki keeps it whatever the line says) keeps it, so a query
 * answers the same with ingest-time parsing on or off.
 */
export function normalizeRecord(record: LogRecord, parsed: ParsedLine | undefined): void {
  addKubernetesSource(record);
  if (parsed) {
    // The sender's attributes win; copying them (usually few or none) over the parsed ones is the cheap direction.
    const sent = record.attributes;
    record.attributes = parsed.attributes;
    for (const key in sent) parsed.attributes[key] = sent[key];
    record.attributes['meshlog.format'] = parsed.format;
    if (parsed.message !== undefined) record.body = parsed.message;
    if (parsed.time.length > 0) {
      const time = parseTimestampNanos(parsed.time);
      if (time !== undefined && !record.timeIsEntryTime) record.timeUnixNano = time;
      else if (time !== undefined && time !== record.timeUnixNano) record.attributes[lineTimeAttribute] = time.toString();
    }
    if (record.severityNumber === 0 && parsed.level.length > 0) {
      record.severityNumber = severityNumberOf(parsed.level);
      if (record.severityText.length === 0) record.severityText = parsed.level;
    }
  }

  const attributes = record.attributes;
  if (record.traceId.length === 0) {
    const context = traceContextOf(attributes);
    if (context) {
      record.traceId = context.traceId;
      if (record.spanId.length === 0) record.spanId = context.spanId;
      if (context.sampled) record.traceFlags |= 1;
    }
  }

  if (isUnknownServiceName(record.serviceName)) {
    // An SDK's `unknown_service:<process>` is kept when nothing better is known (as Loki keeps it).
    record.serviceName = resolveServiceName(record.resource, attributes['mesh.source.workload'] ?? '') || record.serviceName;
  }

  if (parsed && parsed.mesh.length > 0) {
    markConnection(attributes);
    record.mesh = meshFieldsOf(parsed, record.resource, attributes, isUnknownServiceName(record.serviceName) ? '' : record.serviceName);
    if (record.severityNumber === 0) record.severityNumber = severityOfExchange(record.mesh.responseCode, attributes);
  }

  if (record.severityNumber === 0 && record.severityText.length > 0) record.severityNumber = severityNumberOf(record.severityText);
  if (record.severityText.length === 0 && record.severityNumber > 0) record.severityText = severityTextOf(record.severityNumber);
}
