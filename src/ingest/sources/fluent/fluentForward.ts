import { gunzipSync } from 'node:zlib';
import { decodeMulti, ExtensionCodec } from '@msgpack/msgpack';
import { MeshlogError } from '../../../errors.js';
import { nestingRefusal, nestsDeeperThan } from '../../../formats/nesting.js';
import { newLogRecord, type LogRecord } from '../../../model/logRecord.js';
import { severityFromText } from '../../../model/severity.js';
import { holdsEncodedSurrogate, wellFormedValue } from '../../../formats/wellFormedText.js';

/**
 * Fluentd forward protocol v1 messages (already msgpack-decoded) → records.
 * Modes: Message `[tag, time, record, option?]`, Forward `[tag, [[time, record]…], option?]`,
 * PackedForward `[tag, bin, option?]` and its gzip variant (`option.compressed`).
 */

/** EventTime: msgpack ext type 0, 4-byte big-endian seconds then nanoseconds. */
class EventTime {
  constructor(readonly unixNano: bigint) {}
}

export const forwardExtensionCodec = new ExtensionCodec();
forwardExtensionCodec.register({
  type: 0,
  encode: () => null,
  decode: (data) => {
    if (data.byteLength !== 8) throw new Error(`EventTime must be 8 bytes, got ${data.byteLength}`);
    const view = new DataView(data.buffer, data.byteOffset, 8);
    return new EventTime(BigInt(view.getUint32(0)) * 1_000_000_000n + BigInt(view.getUint32(4)));
  },
});

export interface ForwardMessage {
  records: LogRecord[];
  /** The `chunk` option: the client waits for `{"ack": chunk}` before forgetting the data. */
  chunk: string | undefined;
}

export interface ForwardOptions {
  tenant: string;
  receiver: string;
  maxDecompressedBytes: number;
}

const decodeError = (detail: string) => new MeshlogError('ML_DECODE', `forward: ${detail}`);

function isMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && !(value instanceof EventTime)
  );
}

/** Event time in ns: EventTime, integer seconds or (some clients) float seconds; undefined when not a time. */
function eventTime(value: unknown): bigint | undefined {
  if (value instanceof EventTime) return value.unixNano;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    const seconds = Math.trunc(value);
    return BigInt(seconds) * 1_000_000_000n + BigInt(Math.round((value - seconds) * 1e9));
  }
  return undefined;
}

/** Attribute values are text; structured ones JSON, binary as UTF-8. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (value === null || value === undefined) return '';
  if (typeof value === 'object')
    return JSON.stringify(value, (_key, inner: unknown) => (inner instanceof Uint8Array ? text(inner) : inner));
  return String(value);
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isMap(value)) for (const [key, inner] of Object.entries(value)) out[key] = text(inner);
  return out;
}

/** Fluent Bit's kubernetes filter metadata → OTel k8s.* / container.* resource attributes. */
function kubernetesResource(metadata: Record<string, unknown>): Record<string, string> {
  const resource: Record<string, string> = {};
  const fields: [string, string][] = [
    ['pod_name', 'k8s.pod.name'],
    ['namespace_name', 'k8s.namespace.name'],
    ['pod_id', 'k8s.pod.uid'],
    ['container_name', 'k8s.container.name'],
    ['host', 'k8s.node.name'],
    ['docker_id', 'container.id'],
    ['container_image', 'container.image.name'],
  ];
  for (const [from, to] of fields) if (metadata[from] !== undefined) resource[to] = text(metadata[from]);
  for (const [key, value] of Object.entries(stringMap(metadata.labels))) resource[`k8s.pod.label.${key}`] = value;
  for (const [key, value] of Object.entries(stringMap(metadata.annotations))) resource[`k8s.pod.annotation.${key}`] = value;
  return resource;
}

/** OTel's order for Kubernetes service names, falling back to the forward tag. */
function serviceName(resource: Record<string, string>, tag: string): string {
  return (
    resource['k8s.pod.annotation.resource.opentelemetry.io/service.name'] ??
    resource['k8s.pod.label.app.kubernetes.io/instance'] ??
    resource['k8s.pod.label.app.kubernetes.io/name'] ??
    resource['k8s.container.name'] ??
    tag
  );
}

function toRecord(tag: string, time: bigint, event: Record<string, unknown>, options: ForwardOptions): LogRecord {
  const { log, message, level, severity, kubernetes, ...rest } = event;
  const resource = isMap(kubernetes) ? kubernetesResource(kubernetes) : {};
  const attributes: Record<string, string> = { 'fluent.tag': tag };
  for (const [key, value] of Object.entries(rest)) attributes[key] = text(value);
  const bodyValue = log ?? message;
  // Docker and CRI lines keep their newline in `log`.
  const body = bodyValue === undefined ? text(rest) : text(bodyValue).replace(/\r?\n$/, '');
  const severityText = text(level ?? severity);
  return newLogRecord({
    tenant: options.tenant,
    receiver: options.receiver,
    timeUnixNano: time,
    body,
    severityText,
    severityNumber: severityFromText(severityText),
    serviceName: serviceName(resource, tag),
    resource,
    attributes,
  });
}

/** An entry that is not `[time, record]` is kept, marked, rather than dropped beside good ones. */
function malformedEntry(tag: string, entry: unknown, reason: string, options: ForwardOptions): LogRecord {
  return newLogRecord({
    tenant: options.tenant,
    receiver: options.receiver,
    body: text(entry),
    serviceName: tag,
    attributes: { 'fluent.tag': tag, 'fluent.parse_error': reason },
  });
}

function entryRecord(tag: string, entry: unknown, options: ForwardOptions): LogRecord {
  // Kept as a marked entry (forward has no per-entry refusal), its content not: it cannot be turned into text safely.
  if (nestsDeeperThan(entry)) return malformedEntry(tag, '(content not kept)', `entry ${nestingRefusal}`, options);
  if (!Array.isArray(entry) || entry.length !== 2) return malformedEntry(tag, entry, 'entry is not [time, record]', options);
  const time = eventTime(entry[0]);
  if (time === undefined) return malformedEntry(tag, entry, 'entry time is not an integer or EventTime', options);
  if (!isMap(entry[1])) return malformedEntry(tag, entry, 'entry record is not a map', options);
  return toRecord(tag, time, entry[1], options);
}

function unpackEntries(packed: Uint8Array, compressed: unknown, maxDecompressedBytes: number): unknown[] {
  let bytes = packed;
  if (compressed === 'gzip') {
    try {
      // Fluent Bit and Fluentd concatenate gzip members; gunzip reads them all.
      bytes = gunzipSync(packed, { maxOutputLength: maxDecompressedBytes });
    } catch (error) {
      throw decodeError(`CompressedPackedForward entries are not gzip within ${maxDecompressedBytes} bytes: ${(error as Error).message}`);
    }
  } else if (compressed !== undefined && compressed !== 'text') {
    throw decodeError(`unsupported compression ${text(compressed)}`);
  }
  try {
    const entries = [...decodeMulti(bytes, { extensionCodec: forwardExtensionCodec })];
    return holdsEncodedSurrogate(bytes) ? wellFormedValue(entries) : entries;
  } catch (error) {
    throw decodeError(`packed entries are not msgpack: ${(error as Error).message}`);
  }
}

/** One decoded msgpack value from a forward connection → its records and chunk id. */
export function forwardMessage(message: unknown, options: ForwardOptions): ForwardMessage {
  if (!Array.isArray(message) || message.length < 2 || message.length > 4) {
    throw decodeError('a message must be an array [tag, time|entries, …]');
  }
  const [tag, second] = message;
  if (typeof tag !== 'string') throw decodeError('the tag must be a string');
  const isMessageMode = eventTime(second) !== undefined;
  const option: unknown = isMessageMode ? message[3] : message[2];
  if (option !== undefined && option !== null && !isMap(option)) throw decodeError('the option must be a map');
  if (nestsDeeperThan(option)) throw decodeError(`the option ${nestingRefusal}`);
  const chunk = option?.chunk === undefined ? undefined : text(option.chunk);

  if (isMessageMode) {
    if (message.length < 3) throw decodeError('Message mode needs [tag, time, record]');
    return { chunk, records: [entryRecord(tag, [second, message[2]], options)] };
  }
  if (message.length > 3) throw decodeError('Forward modes are [tag, entries, option?]');
  if (Array.isArray(second)) return { chunk, records: second.map((entry) => entryRecord(tag, entry, options)) };
  if (second instanceof Uint8Array) {
    const entries = unpackEntries(second, option?.compressed, options.maxDecompressedBytes);
    return { chunk, records: entries.map((entry) => entryRecord(tag, entry, options)) };
  }
  throw decodeError('the second element must be a time, an entry array or packed entries (bin)');
}
