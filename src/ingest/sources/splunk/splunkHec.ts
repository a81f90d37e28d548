import type { LogRecord } from '../../../model/logRecord.js';
import { newLogRecord } from '../../../model/logRecord.js';
import { severityFromText } from '../../../model/severity.js';
import { attributeText, flattenFields } from '../shared/flattenFields.js';
import { nestingRefusal, nestsDeeperThan } from '../../../formats/nesting.js';
import { parseWellFormedJson } from '../../../formats/wellFormedText.js';

/** Event metadata HEC takes from the event, else from the query string (`?sourcetype=…` on /raw). */
export interface HecMetadata {
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
}

/** The first refused event, as HEC reports it (`code`, `text`, zero-based `invalid-event-number`). */
export interface HecRejection {
  code: number;
  text: string;
  eventNumber: number;
}

export interface DecodedHec {
  records: LogRecord[];
  rejection: HecRejection | undefined;
  /** The zero-based event number of each record (records[i] came from event eventNumbers[i]). */
  eventNumbers?: number[];
}

/**
 * `/services/collector/event`: concatenated JSON objects
 * `{"time","host","source","sourcetype","index","event","fields"}`.
 * Events that are JSON but not valid HEC events are refused one by one;
 * a break in the JSON stops the batch there, as in Splunk.
 */
export function decodeHecEvents(body: Buffer, defaults: HecMetadata, tenant: string, receiver: string): DecodedHec {
  const text = body.toString('utf8');
  const out: DecodedHec = { records: [], rejection: undefined, eventNumbers: [] };
  const refuse = (eventNumber: number, code: number, reason: string) => {
    out.rejection ??= { code, text: reason, eventNumber };
  };
  const observed = BigInt(Date.now()) * 1_000_000n;
  let position = skipSpace(text, 0);
  for (let eventNumber = 0; position < text.length; eventNumber++) {
    const end = objectEnd(text, position);
    let event: unknown;
    try {
      if (end === undefined) throw new Error('unterminated object');
      event = parseWellFormedJson(text.slice(position, end));
    } catch {
      refuse(eventNumber, 6, 'Invalid data format');
      break;
    }
    position = skipSpace(text, end);
    const record = eventRecord(event as Record<string, unknown>, defaults, observed, tenant, receiver);
    if ('code' in record) refuse(eventNumber, record.code, record.text);
    else {
      out.records.push(record);
      out.eventNumbers!.push(eventNumber);
    }
  }
  return out;
}

/** `/services/collector/raw`: one event per line, metadata from the query string. */
export function decodeHecRaw(body: Buffer, metadata: HecMetadata, tenant: string, receiver: string): LogRecord[] {
  const observed = BigInt(Date.now()) * 1_000_000n;
  return body
    .toString('utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => hecRecord(line, {}, metadata, {}, observed, observed, tenant, receiver));
}

function eventRecord(
  event: Record<string, unknown>,
  defaults: HecMetadata,
  observed: bigint,
  tenant: string,
  receiver: string,
): LogRecord | { code: number; text: string } {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return { code: 6, text: 'Invalid data format' };
  if (nestsDeeperThan(event)) return { code: 6, text: `Invalid data format: the event ${nestingRefusal}` };
  if (!('event' in event)) return { code: 12, text: 'Event field is required' };
  const payload = event.event;
  if (payload === null || payload === '') return { code: 13, text: 'Event field cannot be blank' };
  const fields = event.fields ?? {};
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return { code: 15, text: 'Error in handling indexed fields' };
  const time = epochSecondsNanos(event.time);
  if (time === undefined) return { code: 6, text: 'Invalid data format' };
  const metadata: HecMetadata = {
    host: stringOr(event.host, defaults.host),
    source: stringOr(event.source, defaults.source),
    sourcetype: stringOr(event.sourcetype, defaults.sourcetype),
    index: stringOr(event.index, defaults.index),
  };
  let body: string;
  let eventFields: Record<string, string> = {};
  if (typeof payload === 'object' && !Array.isArray(payload)) {
    // An object event with a `message` (splunk-logging's {message, severity}, many loggers) keeps it as body, the rest as attributes.
    const { message, ...rest } = payload as Record<string, unknown>;
    const hasMessage = message !== undefined && message !== null;
    body = hasMessage ? attributeText(message) : JSON.stringify(payload);
    eventFields = flattenFields(hasMessage ? rest : (payload as Record<string, unknown>));
  } else {
    body = attributeText(payload);
  }
  return hecRecord(
    body,
    eventFields,
    metadata,
    flattenFields(fields as Record<string, unknown>),
    time === 0n ? observed : time,
    observed,
    tenant,
    receiver,
  );
}

function hecRecord(
  body: string,
  eventFields: Record<string, string>,
  metadata: HecMetadata,
  indexedFields: Record<string, string>,
  time: bigint,
  observed: bigint,
  tenant: string,
  receiver: string,
): LogRecord {
  const attributes: Record<string, string> = { ...eventFields, ...indexedFields };
  if (metadata.source) attributes['splunk.source'] = metadata.source;
  if (metadata.sourcetype) attributes['splunk.sourcetype'] = metadata.sourcetype;
  if (metadata.index) attributes['splunk.index'] = metadata.index;
  const level = attributes.severity ?? attributes.level ?? '';
  return newLogRecord({
    tenant,
    receiver,
    body,
    timeUnixNano: time,
    observedTimeUnixNano: observed,
    severityText: level,
    severityNumber: severityFromText(level),
    serviceName: indexedFields['service.name'] ?? indexedFields.service ?? metadata.source ?? metadata.sourcetype ?? '',
    resource: metadata.host ? { 'host.name': metadata.host } : {},
    attributes,
  });
}

function stringOr(value: unknown, fallback: string | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

/** HEC `time`: epoch seconds with an optional fraction, as a number or a string; absent = now (0n). */
function epochSecondsNanos(value: unknown): bigint | undefined {
  if (value === undefined || value === null || value === '') return 0n;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') return undefined;
  const match = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!match) return undefined;
  return BigInt(match[1]) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

function skipSpace(text: string, from: number): number {
  let position = from;
  while (position < text.length && /\s/.test(text[position])) position++;
  return position;
}

/** End (exclusive) of the JSON object starting at `start`, honouring strings; undefined if it never closes. */
function objectEnd(text: string, start: number): number | undefined {
  if (text[start] !== '{') return undefined;
  let depth = 0;
  let inString = false;
  for (let position = start; position < text.length; position++) {
    const char = text[position];
    if (inString) {
      if (char === '\\') position++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') depth++;
    else if (char === '}' && --depth === 0) return position + 1;
  }
  return undefined;
}
