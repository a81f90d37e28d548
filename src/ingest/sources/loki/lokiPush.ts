import snappy from 'snappy';
import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { newLogRecord } from '../../../model/logRecord.js';
import { severityFromText } from '../../../model/severity.js';
import { recordIdAttribute } from '../../redeliveryFilter.js';
import { loadProtos } from '../../../formats/protoRoot.js';
import { nestingRefusal, nestsDeeperThan } from '../../../formats/nesting.js';
import { parseWellFormedJson } from '../../../formats/wellFormedText.js';

const PushRequest = loadProtos(['logproto/push.proto']).lookupType('logproto.PushRequest');

export interface DecodedPush {
  records: LogRecord[];
  /** Why entries or streams were refused (Loki answers 400 with them after storing the rest). */
  rejections: string[];
}

interface Entry {
  timeUnixNano: bigint;
  line: string;
  metadata: Record<string, string>;
}

/** `application/x-protobuf`: a raw-block snappy logproto.PushRequest, as Promtail sends it. */
export async function decodeLokiPushProtobuf(body: Buffer, maxBytes: number, tenant: string, receiver: string): Promise<DecodedPush> {
  const declared = snappyDeclaredLength(body);
  if (declared === undefined) throw new MeshlogError('ML_DECODE', 'body is not snappy-compressed (no length preamble)');
  // The preamble is only a claim: garbage claims any length. Too large only if the block really decodes to that much.
  const invalid = snappyBlockProblem(body, declared);
  if (invalid) throw new MeshlogError('ML_DECODE', `body is not decodable snappy: ${invalid}`);
  if (declared > maxBytes) throw new MeshlogError('ML_BODY_TOO_LARGE', `more than ${maxBytes} bytes after snappy decompression`);
  let raw: Buffer;
  try {
    raw = (await snappy.uncompress(body, { asBuffer: true })) as Buffer;
  } catch (error) {
    throw new MeshlogError('ML_DECODE', `body is not snappy-compressed: ${(error as Error).message}`);
  }
  let request: {
    streams?: {
      labels?: string;
      entries?: {
        timestamp?: { seconds?: string; nanos?: number };
        line?: string;
        structuredMetadata?: { name?: string; value?: string }[];
      }[];
    }[];
  };
  try {
    request = PushRequest.toObject(PushRequest.decode(raw), { longs: String, defaults: false }) as typeof request;
  } catch (error) {
    throw new MeshlogError('ML_DECODE', `invalid logproto.PushRequest: ${(error as Error).message}`);
  }
  const out: DecodedPush = { records: [], rejections: [] };
  for (const stream of request.streams ?? []) {
    const entries: Entry[] = (stream.entries ?? []).map((entry) => ({
      timeUnixNano: BigInt(entry.timestamp?.seconds ?? '0') * 1_000_000_000n + BigInt(entry.timestamp?.nanos ?? 0),
      line: entry.line ?? '',
      metadata: Object.fromEntries((entry.structuredMetadata ?? []).map((pair) => [pair.name ?? '', pair.value ?? ''])),
    }));
    addStream(out, stream.labels ?? '', entries, tenant, receiver);
  }
  return out;
}

/** A raw snappy block starts with its uncompressed length as a varint: check it before inflating. */
function snappyDeclaredLength(body: Buffer): number | undefined {
  return snappyPreamble(body)?.length;
}

function snappyPreamble(body: Buffer): { length: number; size: number } | undefined {
  let length = 0;
  for (let index = 0; index < Math.min(body.length, 5); index++) {
    length += (body[index] & 0x7f) * 2 ** (7 * index);
    if ((body[index] & 0x80) === 0) return { length, size: index + 1 };
  }
  return undefined;
}

/**
 * Why a raw snappy block is not one (format_description.txt of google/snappy),
 * found by walking its literal and copy elements without inflating anything:
 * linear in the compressed size, no allocation. undefined when the elements
 * are well formed, every copy reaches back into what was already produced,
 * and they produce exactly the declared length.
 */
export function snappyBlockProblem(body: Buffer, declared: number): string | undefined {
  const preamble = snappyPreamble(body);
  if (!preamble) return 'no length preamble';
  let at = preamble.size;
  let produced = 0;
  while (at < body.length) {
    const tag = body[at++]!;
    let length: number;
    let offset = 0;
    switch (tag & 3) {
      case 0: {
        const short = tag >> 2;
        if (short < 60) length = short + 1;
        else {
          const bytes = short - 59;
          if (at + bytes > body.length) return `literal length cut short at byte ${at}`;
          length = body.readUIntLE(at, bytes) + 1;
          at += bytes;
        }
        if (at + length > body.length) return `literal of ${length} bytes runs past the end at byte ${at}`;
        at += length;
        break;
      }
      case 1:
        if (at + 1 > body.length) return `copy cut short at byte ${at}`;
        length = ((tag >> 2) & 7) + 4;
        offset = ((tag >> 5) << 8) | body[at++]!;
        break;
      case 2:
        if (at + 2 > body.length) return `copy cut short at byte ${at}`;
        length = (tag >> 2) + 1;
        offset = body.readUInt16LE(at);
        at += 2;
        break;
      default:
        if (at + 4 > body.length) return `copy cut short at byte ${at}`;
        length = (tag >> 2) + 1;
        offset = body.readUInt32LE(at);
        at += 4;
    }
    if ((tag & 3) !== 0 && (offset === 0 || offset > produced)) return `copy from offset ${offset} before the start of the output`;
    produced += length;
    if (produced > declared) return `decodes to more than the ${declared} bytes its preamble declares`;
  }
  return produced === declared ? undefined : `decodes to ${produced} bytes, its preamble declares ${declared}`;
}

/** `application/json`: `{"streams":[{"stream":{…},"values":[["<ns>","<line>",{…}]]}]}`. */
export function decodeLokiPushJson(body: Buffer, tenant: string, receiver: string): DecodedPush {
  let request: unknown;
  try {
    request = parseWellFormedJson(body.toString('utf8'));
  } catch (error) {
    throw new MeshlogError('ML_DECODE', `invalid JSON: ${(error as Error).message}`);
  }
  const streams = (request as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) throw new MeshlogError('ML_DECODE', 'a JSON object with a "streams" array was expected');
  const out: DecodedPush = { records: [], rejections: [] };
  streams.forEach((stream: { stream?: unknown; values?: unknown }, index) => {
    const labels = stream?.stream;
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels) || !Array.isArray(stream.values)) {
      out.rejections.push(`stream ${index}: "stream" must be an object of labels and "values" an array`);
      return;
    }
    if (nestsDeeperThan(labels, 1)) {
      out.rejections.push(`stream ${index}: label values must be strings`);
      return;
    }
    const entries: Entry[] = [];
    stream.values.forEach((value: unknown, position: number) => {
      const entry = jsonEntry(value);
      if (typeof entry === 'string') out.rejections.push(`stream ${index} entry ${position}: ${entry}`);
      else entries.push(entry);
    });
    addStream(out, labels as Record<string, unknown>, entries, tenant, receiver);
  });
  return out;
}

/** One `[ts, line, metadata?]` value, or why it is not one. */
function jsonEntry(value: unknown): Entry | string {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) return 'expected ["<unix ns>", "<line>", {metadata}?]';
  if (nestsDeeperThan(value)) return `the entry ${nestingRefusal}`;
  const [time, line, metadata] = value as unknown[];
  if (typeof time !== 'string' || !/^\d{1,19}$/.test(time)) return `timestamp ${JSON.stringify(time)} is not a string of nanoseconds`;
  if (typeof line !== 'string') return 'the log line must be a string';
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) {
    return 'structured metadata must be an object';
  }
  const pairs = Object.entries((metadata ?? {}) as Record<string, unknown>).map(([name, text]) => [
    name,
    typeof text === 'string' ? text : JSON.stringify(text),
  ]);
  return { timeUnixNano: BigInt(time), line, metadata: Object.fromEntries(pairs) };
}

function addStream(out: DecodedPush, labelsIn: string | Record<string, unknown>, entries: Entry[], tenant: string, receiver: string): void {
  let labels: Record<string, string>;
  try {
    labels = typeof labelsIn === 'string' ? parseLabels(labelsIn) : jsonLabels(labelsIn);
  } catch (error) {
    // As Loki: the stream is refused whole, the request's other streams are stored, the answer is 400.
    out.rejections.push((error as Error).message);
    return;
  }
  const serviceName = labels.service_name ?? labels['service.name'] ?? '';
  const streamLevel = labels.level ?? labels.detected_level ?? '';
  const observed = BigInt(Date.now()) * 1_000_000n;
  for (const entry of entries) {
    const level = streamLevel || entry.metadata.level || entry.metadata.detected_level || '';
    const { trace_id: traceId, span_id: spanId } = entry.metadata;
    const sentObserved = takeObservedTime(entry.metadata);
    takeRecordId(entry.metadata);
    out.records.push(
      newLogRecord({
        tenant,
        receiver,
        body: entry.line,
        timeUnixNano: entry.timeUnixNano === 0n ? observed : entry.timeUnixNano,
        timeIsEntryTime: true,
        observedTimeUnixNano: sentObserved ?? observed,
        severityText: level,
        severityNumber: severityFromText(level),
        serviceName,
        resource: labels,
        attributes: entry.metadata,
        traceId: traceId && /^[0-9a-fA-F]{32}$/.test(traceId) ? traceId.toLowerCase() : '',
        spanId: spanId && /^[0-9a-fA-F]{16}$/.test(spanId) ? spanId.toLowerCase() : '',
      }),
    );
  }
}

/**
 * Structured metadata `log_record_uid` is OpenTelemetry's `log.record.uid`
 * under Loki's naming (dots are not allowed): stored under the OTel name, the
 * redelivery filter drops a copy of a line already committed.
 */
function takeRecordId(metadata: Record<string, string>): void {
  const id = metadata.log_record_uid;
  if (id === undefined) return;
  delete metadata.log_record_uid;
  if (id !== '') metadata[recordIdAttribute] = id;
}

/** `observed_timestamp` (ns; Loki's name for OTLP's observed time): when the sender read the line, which a re-sent batch keeps. */
function takeObservedTime(metadata: Record<string, string>): bigint | undefined {
  const value = metadata.observed_timestamp;
  if (value === undefined || !/^\d{1,19}$/.test(value)) return undefined;
  delete metadata.observed_timestamp;
  return BigInt(value);
}

/** Loki's label names (Prometheus' legacy rule, the only one LogQL can name): `[a-zA-Z_][a-zA-Z0-9_]*`. */
const labelName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const labelPair = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|(?=\}))/y;

/** Loki's refusal of a stream whose labels do not parse (validation.InvalidLabelsErrorMsg). */
function invalidLabels(labels: string, reason: string): Error {
  return new Error(`Error parsing labels '${labels.slice(0, 200)}' with error: ${reason}`);
}

/** Prometheus label text `{a="b", c="d\"e"}`, the way Loki writes a stream's labels; names as Loki allows them, each once. */
export function parseLabels(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) throw invalidLabels(text, 'labels must be written {name="value", …}');
  const labels: Record<string, string> = {};
  labelPair.lastIndex = 1;
  while (labelPair.lastIndex < trimmed.length - 1) {
    const start = labelPair.lastIndex;
    const match = labelPair.exec(trimmed);
    if (!match) {
      if (trimmed.slice(start, -1).trim() === '') break;
      throw invalidLabels(text, `invalid label name or value at offset ${start} (label names are [a-zA-Z_][a-zA-Z0-9_]*)`);
    }
    if (Object.hasOwn(labels, match[1])) throw new Error(`stream '${text.slice(0, 200)}' has duplicate label name: '${match[1]}'`);
    labels[match[1]] = parseWellFormedJson(`"${match[2]}"`) as string;
  }
  return labels;
}

/** JSON push labels (an object): every name as Loki allows them, every value a string. */
function jsonLabels(labels: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (!labelName.test(name))
      throw invalidLabels(
        JSON.stringify(labels),
        `invalid label name ${JSON.stringify(name.slice(0, 100))} (label names are [a-zA-Z_][a-zA-Z0-9_]*)`,
      );
    out[name] = String(value);
  }
  return out;
}
