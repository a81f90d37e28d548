import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { newLogRecord } from '../../../model/logRecord.js';
import { severityFromText } from '../../../model/severity.js';
import { attributeText, flattenFields } from '../shared/flattenFields.js';
import { nestingRefusal, nestsDeeperThan } from '../../../formats/nesting.js';
import { parseWellFormedJson } from '../../../formats/wellFormedText.js';

export interface DecodedDatadogLogs {
  records: LogRecord[];
  /** Why items were refused, by position in the payload. */
  rejections: string[];
}

/** Reserved attributes of Datadog's log intake that become record fields. */
const reserved = new Set(['message', 'service', 'hostname', 'status', 'ddtags', 'timestamp', 'dd.trace_id', 'dd.span_id']);

/**
 * Datadog logs intake (`POST /api/v2/logs`): a JSON array of log objects or
 * one object, as the Datadog Agent (`logs_dd_url`) and the API clients send;
 * `text/plain` is one message per line. `requestTags` is the `ddtags` query parameter.
 */
export function decodeDatadogLogs(
  body: Buffer,
  plainText: boolean,
  requestTags: string,
  tenant: string,
  receiver: string,
): DecodedDatadogLogs {
  const observed = BigInt(Date.now()) * 1_000_000n;
  const out: DecodedDatadogLogs = { records: [], rejections: [] };
  if (plainText) {
    for (const line of body.toString('utf8').split(/\r?\n/)) {
      if (line.trim() !== '') out.records.push(toRecord({ message: line }, requestTags, observed, tenant, receiver) as LogRecord);
    }
    return out;
  }
  let payload: unknown;
  try {
    payload = parseWellFormedJson(body.toString('utf8'));
  } catch (error) {
    throw new MeshlogError('ML_DECODE', `invalid JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(payload) ? payload : [payload];
  items.forEach((item: unknown, position) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      out.rejections.push(`log ${position}: a JSON object was expected`);
      return;
    }
    const record = nestsDeeperThan(item)
      ? `the log ${nestingRefusal}`
      : toRecord(item as Record<string, unknown>, requestTags, observed, tenant, receiver);
    if (typeof record === 'string') out.rejections.push(`log ${position}: ${record}`);
    else out.records.push(record);
  });
  return out;
}

function toRecord(
  item: Record<string, unknown>,
  requestTags: string,
  observed: bigint,
  tenant: string,
  receiver: string,
): LogRecord | string {
  const fields = flattenFields(item);
  const time = timestampNanos(item.timestamp);
  if (time === undefined)
    return `timestamp ${JSON.stringify(item.timestamp).slice(0, 64)} is neither epoch milliseconds nor an ISO 8601 date`;
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (!reserved.has(key)) attributes[key] = value;
  for (const tags of [requestTags, attributeText(item.ddtags)]) addTags(attributes, tags);
  const service = attributeText(item.service);
  const hostname = attributeText(item.hostname);
  const resource: Record<string, string> = {};
  if (service) resource['service.name'] = service;
  if (hostname) resource['host.name'] = hostname;
  // Datadog's status remapper reads status, then severity and level (winston and most loggers send `level`).
  const status = attributeText(item.status) || attributeText(item.severity) || attributeText(item.level);
  return newLogRecord({
    tenant,
    receiver,
    body: typeof item.message === 'string' ? item.message : JSON.stringify(item),
    timeUnixNano: time === 0n ? observed : time,
    observedTimeUnixNano: observed,
    severityText: status,
    severityNumber: severityFromText(status),
    serviceName: service,
    resource,
    attributes,
    traceId: decimalIdHex(fields['dd.trace_id'], 32),
    spanId: decimalIdHex(fields['dd.span_id'], 16),
  });
}

/** `env:prod,team:payments,canary` → attributes env=prod, team=payments, canary=''. */
function addTags(attributes: Record<string, string>, tags: string): void {
  for (const tag of tags.split(',')) {
    const trimmed = tag.trim();
    if (trimmed === '') continue;
    const colon = trimmed.indexOf(':');
    const key = colon < 0 ? trimmed : trimmed.slice(0, colon);
    const value = colon < 0 ? '' : trimmed.slice(colon + 1);
    // A key tagged twice (env:a,env:b) keeps both values.
    attributes[key] = key in attributes && attributes[key] !== value ? `${attributes[key]},${value}` : value;
  }
}

/** Datadog trace and span ids are unsigned 64-bit decimals; OTel ids are hex. */
function decimalIdHex(value: string | undefined, width: number): string {
  if (!value || !/^\d{1,20}$/.test(value)) return '';
  const id = BigInt(value);
  return id === 0n || id >= 2n ** 64n ? '' : id.toString(16).padStart(width, '0');
}

/** The Agent sends epoch milliseconds; API users often send ISO 8601. Absent = 0n (now). */
function timestampNanos(value: unknown): bigint | undefined {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? BigInt(Math.round(value)) * 1_000_000n : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value)) return BigInt(value) * 1_000_000n;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? undefined : BigInt(millis) * 1_000_000n;
}
