import { randomBytes } from 'node:crypto';
import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { newLogRecord } from '../../../model/logRecord.js';
import { severityFromText } from '../../../model/severity.js';
import { recordIdAttribute } from '../../redeliveryFilter.js';
import { flattenFields } from '../shared/flattenFields.js';
import { nestingRefusal, nestsDeeperThan } from '../../../formats/nesting.js';
import { parseWellFormedJson } from '../../../formats/wellFormedText.js';

/** One answer per bulk action, in request order, as the `_bulk` response lists them. */
export interface BulkItem {
  action: string;
  index: string;
  id: string;
  /** Position of the item's record in `records`, when the item was accepted. */
  record: number | undefined;
  error: { type: string; reason: string } | undefined;
}

export interface DecodedBulk {
  items: BulkItem[];
  records: LogRecord[];
}

/** ECS fields that become record fields rather than attributes. */
const mappedFields = new Set(['@timestamp', 'event.created', 'message', 'log.level', 'service.name', 'host.name', 'trace.id', 'span.id']);

/**
 * An Elasticsearch `_bulk` body (NDJSON action/source pairs) as records.
 * `create` and `index` store their source line; `update` and `delete` and
 * lines that are not JSON get a per-item error, and the rest go on.
 */
export function decodeElasticBulk(body: Buffer, pathIndex: string | undefined, tenant: string, receiver: string): DecodedBulk {
  const lines = body.toString('utf8').split('\n');
  const out: DecodedBulk = { items: [], records: [] };
  const observed = BigInt(Date.now()) * 1_000_000n;
  // Generated ids: one random prefix per request and a counter, not a random draw per document.
  const idPrefix = randomBytes(12).toString('base64url');
  let lineNumber = 0;
  const next = (): string | undefined => {
    while (lineNumber < lines.length) {
      const line = lines[lineNumber++].trim();
      if (line !== '') return line;
    }
    return undefined;
  };
  for (let actionLine = next(); actionLine !== undefined; actionLine = next()) {
    const parsed = parseAction(actionLine);
    if (typeof parsed === 'string') {
      out.items.push({
        action: 'index',
        index: pathIndex ?? '',
        id: '',
        record: undefined,
        error: { type: 'illegal_argument_exception', reason: `line [${lineNumber}]: ${parsed}` },
      });
      continue;
    }
    const { action, meta } = parsed;
    const index = typeof meta._index === 'string' ? meta._index : (pathIndex ?? '');
    const id = typeof meta._id === 'string' && meta._id !== '' ? meta._id : `${idPrefix}${out.items.length.toString(36)}`;
    const item: BulkItem = { action, index, id, record: undefined, error: undefined };
    out.items.push(item);
    if (action === 'delete') {
      item.error = { type: 'illegal_argument_exception', reason: 'meshlog is append-only: delete is not supported' };
      continue;
    }
    const sourceLine = next();
    if (action === 'update') {
      item.error = { type: 'illegal_argument_exception', reason: 'meshlog is append-only: update is not supported' };
      continue;
    }
    if (sourceLine === undefined) {
      item.error = { type: 'action_request_validation_exception', reason: `line [${lineNumber}]: the ${action} action has no source line` };
      continue;
    }
    if (index === '') {
      item.error = { type: 'action_request_validation_exception', reason: 'index is missing' };
      continue;
    }
    let source: unknown;
    try {
      source = parseWellFormedJson(sourceLine);
    } catch (error) {
      item.error = { type: 'document_parsing_exception', reason: `line [${lineNumber}]: failed to parse: ${(error as Error).message}` };
      continue;
    }
    if (source === null || typeof source !== 'object' || Array.isArray(source)) {
      item.error = { type: 'document_parsing_exception', reason: `line [${lineNumber}]: the source must be a JSON object` };
      continue;
    }
    if (nestsDeeperThan(source)) {
      item.error = { type: 'document_parsing_exception', reason: `line [${lineNumber}]: the document ${nestingRefusal}` };
      continue;
    }
    const record = toRecord(source as Record<string, unknown>, index, observed, tenant, receiver);
    // A sender's own _id is the document's identity, as in Elasticsearch (a second `create` of it is a conflict): stored once.
    if (typeof record !== 'string' && typeof meta._id === 'string' && meta._id !== '')
      record.attributes[recordIdAttribute] ??= `${index}/${meta._id}`;
    if (typeof record === 'string') {
      item.error = { type: 'document_parsing_exception', reason: `line [${lineNumber}]: ${record}` };
      continue;
    }
    item.record = out.records.length;
    out.records.push(record);
  }
  if (out.items.length === 0) throw new MeshlogError('ML_DECODE', 'request body is required: a _bulk body of action and source lines');
  return out;
}

function parseAction(line: string): { action: string; meta: Record<string, unknown> } | string {
  let value: unknown;
  try {
    value = parseWellFormedJson(line);
  } catch {
    return 'malformed action/metadata line, expected a JSON object';
  }
  const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length !== 1 || !['create', 'index', 'update', 'delete'].includes(keys[0])) {
    return 'malformed action/metadata line, expected one of create, index, update, delete';
  }
  const meta = (value as Record<string, unknown>)[keys[0]];
  return { action: keys[0], meta: meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>) : {} };
}

function toRecord(source: Record<string, unknown>, index: string, observed: bigint, tenant: string, receiver: string): LogRecord | string {
  const fields = flattenFields(source);
  const attributes: Record<string, string> = { 'elasticsearch.index': index };
  const time = fields['@timestamp'] === undefined ? observed : timestampNanos(source['@timestamp'] ?? fields['@timestamp']);
  if (time === undefined) return `@timestamp ${JSON.stringify(fields['@timestamp']).slice(0, 64)} is not a date`;
  // ECS `event.created`: when an agent first read the event, the observed time (a re-sent batch keeps it).
  const created = fields['event.created'] === undefined ? undefined : timestampNanos(source['event.created'] ?? fields['event.created']);
  if (created === undefined && fields['event.created'] !== undefined) attributes['event.created'] = fields['event.created'];
  // Documents without `message` keep Fluent Bit's and Docker's `log` line, else their whole source, as body.
  const bodyField = fields.message !== undefined ? 'message' : typeof source.log === 'string' ? 'log' : undefined;
  for (const [key, value] of Object.entries(fields)) if (!mappedFields.has(key) && key !== bodyField) attributes[key] = value;
  const resource: Record<string, string> = {};
  if (fields['service.name']) resource['service.name'] = fields['service.name'];
  if (fields['host.name']) resource['host.name'] = fields['host.name'];
  const level = fields['log.level'] ?? '';
  const traceId = (fields['trace.id'] ?? '').toLowerCase();
  const spanId = (fields['span.id'] ?? '').toLowerCase();
  return newLogRecord({
    tenant,
    receiver,
    body: bodyField ? fields[bodyField] : JSON.stringify(source),
    timeUnixNano: time,
    observedTimeUnixNano: created ?? observed,
    severityText: level,
    severityNumber: severityFromText(level),
    serviceName: fields['service.name'] ?? '',
    resource,
    attributes,
    traceId: /^[0-9a-f]{32}$/.test(traceId) ? traceId : '',
    spanId: /^[0-9a-f]{16}$/.test(spanId) ? spanId : '',
  });
}

/** `@timestamp` as ES accepts it by default: an ISO 8601 date or epoch milliseconds. */
function timestampNanos(value: unknown): bigint | undefined {
  // 1e308 ms is a finite number whose nanoseconds are not (found by the receiver fuzz test).
  if (typeof value === 'number') return Number.isFinite(value * 1e6) ? BigInt(Math.round(value * 1e6)) : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value)) return BigInt(value) * 1_000_000n;
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/.exec(value);
  if (!match) {
    const millis = Date.parse(value);
    return Number.isNaN(millis) ? undefined : BigInt(millis) * 1_000_000n;
  }
  // Date keeps milliseconds only; the fraction keeps ES's nanosecond precision.
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}
