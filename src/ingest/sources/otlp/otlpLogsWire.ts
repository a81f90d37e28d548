import protobuf from 'protobufjs';
import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { attributeMap, idHex, text, type AnyValue, type KeyValue } from './otlpValues.js';

/**
 * ExportLogsServiceRequest protobuf straight into LogRecords: one pass over
 * the wire, no message instances, no toObject, times read as bigint (no
 * long.js objects). It reads exactly as protobufjs's generated decoders do
 * (same Reader calls, wire type taken from the field number, unknown fields
 * skipped, a repeated message field replacing the earlier one, every set
 * oneof member kept, the same bounds and nesting checks and errors), so the
 * records are those the toObject path made (test/ingest/sources/otlp/otlpLogsWire.test.ts).
 */

type Reader = protobuf.Reader & { buf: Buffer };

interface Decoded {
  records: LogRecord[];
  rejected: number;
  rejectionReason: string;
}

/** Where the current message ends; throws as protobufjs does when it runs past its parent. */
function enter(r: Reader, depth: number): number {
  const length = r.uint32();
  if (depth > protobuf.Reader.recursionLimit) throw Error('maximum nesting depth exceeded');
  const end = r.pos + length;
  if (end > r.len) throw RangeError('index out of range');
  return end;
}

/** Messages are decoded with `r.len` narrowed to their end, as protobufjs does, so a field cannot read past it. */
function within<T>(r: Reader, depth: number, read: (end: number) => T): T {
  const end = enter(r, depth);
  const outer = r.len;
  r.len = end;
  const value = read(end);
  if (r.pos !== end) throw RangeError('index out of range');
  r.len = outer;
  return value;
}

function fixed64(r: Reader): bigint {
  if (r.pos + 8 > r.len) throw RangeError(`index out of range: ${r.pos} + 8 > ${r.len}`);
  const value = r.buf.readBigUInt64LE(r.pos);
  r.pos += 8;
  return value;
}

function anyValue(r: Reader, depth: number): AnyValue {
  return within(r, depth, (end) => {
    const value: AnyValue = {};
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag >>> 3) {
        case 1:
          value.stringValue = r.string();
          break;
        case 2:
          value.boolValue = r.bool();
          break;
        case 3:
          value.intValue = r.int64() as unknown as AnyValue['intValue'];
          break;
        case 4:
          value.doubleValue = r.double();
          break;
        case 5:
          value.arrayValue = { values: repeated(r, depth + 1, anyValue) };
          break;
        case 6:
          value.kvlistValue = { values: repeated(r, depth + 1, keyValue) };
          break;
        case 7:
          value.bytesValue = r.bytes() as Uint8Array;
          break;
        default:
          r.skipType(tag & 7, depth);
      }
    }
    return value;
  });
}

/** ArrayValue and KeyValueList: one repeated message field (1); an empty list is an absent one, as toObject gives it. */
function repeated<T>(r: Reader, depth: number, item: (r: Reader, depth: number) => T): T[] | undefined {
  return within(r, depth, (end) => {
    let items: T[] | undefined;
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) (items ??= []).push(item(r, depth + 1));
      else r.skipType(tag & 7, depth);
    }
    return items;
  });
}

function keyValue(r: Reader, depth: number): KeyValue {
  return within(r, depth, (end) => {
    let key: string | undefined;
    let value: AnyValue | undefined;
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) key = r.string();
      else if (tag >>> 3 === 2) value = anyValue(r, depth + 1);
      else r.skipType(tag & 7, depth);
    }
    return { key: key ?? '', value };
  });
}

/** Resource: its attributes; dropped_attributes_count and entity_refs are read (as protobufjs reads them) and not kept. */
function resourceAttributes(r: Reader, depth: number): KeyValue[] | undefined {
  return within(r, depth, (end) => {
    let attributes: KeyValue[] | undefined;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1) (attributes ??= []).push(keyValue(r, depth + 1));
      else if (field === 2) r.uint32();
      else if (field === 3) entityRef(r, depth + 1);
      else r.skipType(tag & 7, depth);
    }
    return attributes;
  });
}

/** EntityRef: four string fields (two repeated), not kept. */
function entityRef(r: Reader, depth: number): void {
  within(r, depth, (end) => {
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field >= 1 && field <= 4) r.string();
      else r.skipType(tag & 7, depth);
    }
  });
}

function scope(r: Reader, depth: number): { name: string; version: string } {
  return within(r, depth, (end) => {
    let name = '';
    let version = '';
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1) name = r.string();
      else if (field === 2) version = r.string();
      else if (field === 3) keyValue(r, depth + 1);
      else if (field === 4) r.uint32();
      else r.skipType(tag & 7, depth);
    }
    return { name, version };
  });
}

/** A resource's records, complete only once its whole message is read (its resource may come after them on the wire). */
interface ResourceOutcome {
  records: LogRecord[];
  /** Log records in the message, valid or not: all are refused when the resource cannot be read. */
  count: number;
  rejected: number;
  rejectionReason: string;
}

function logRecord(
  r: Reader,
  depth: number,
  tenant: string,
  receiver: string,
  observedNow: bigint,
  out: ResourceOutcome,
): LogRecord | undefined {
  return within(r, depth, (end) => {
    let time = 0n;
    let observed = 0n;
    let severity = 0;
    let severityText = '';
    let body: AnyValue | undefined;
    let attributes: KeyValue[] | undefined;
    let flags = 0;
    let traceBytes: Uint8Array | undefined;
    let spanBytes: Uint8Array | undefined;
    let eventName = '';
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag >>> 3) {
        case 1:
          time = fixed64(r);
          break;
        case 11:
          observed = fixed64(r);
          break;
        case 2:
          severity = r.int32();
          break;
        case 3:
          severityText = r.string();
          break;
        case 5:
          body = anyValue(r, depth + 1);
          break;
        case 6:
          (attributes ??= []).push(keyValue(r, depth + 1));
          break;
        case 8:
          flags = r.fixed32();
          break;
        case 9:
          traceBytes = r.bytes() as Uint8Array;
          break;
        case 10:
          spanBytes = r.bytes() as Uint8Array;
          break;
        case 12:
          eventName = r.string();
          break;
        case 7:
          r.uint32(); // dropped_attributes_count: read as protobufjs reads it, not kept
          break;
        default:
          r.skipType(tag & 7, depth);
      }
    }
    out.count++;
    const traceId = idHex(traceBytes, 16);
    const spanId = idHex(spanBytes, 8);
    if (traceId === undefined || spanId === undefined) {
      out.rejected++;
      out.rejectionReason ||= `invalid trace_id/span_id (trace ids are 16 bytes, span ids 8)`;
      return undefined;
    }
    if (observed === 0n) observed = observedNow;
    let bodyText: string;
    let attributeValues: Record<string, string>;
    try {
      bodyText = text(body);
      attributeValues = attributeMap(attributes);
    } catch (error) {
      if (!(error instanceof MeshlogError)) throw error;
      out.rejected++;
      out.rejectionReason ||= error.message;
      return undefined;
    }
    return {
      tenant,
      // The data model says: no event time → use the observed time.
      timeUnixNano: time === 0n ? observed : time,
      observedTimeUnixNano: observed,
      severityNumber: severity >= 0 && severity <= 24 ? severity : 0,
      severityText,
      body: bodyText,
      serviceName: '',
      resource: {},
      scopeName: '',
      scopeVersion: '',
      attributes: attributeValues,
      traceId,
      spanId,
      traceFlags: flags & 0xff,
      eventName,
      mesh: undefined,
      receiver,
    };
  });
}

function scopeLogs(r: Reader, depth: number, tenant: string, receiver: string, observedNow: bigint, out: ResourceOutcome): void {
  within(r, depth, (end) => {
    let named = { name: '', version: '' };
    const records: LogRecord[] = [];
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1) named = scope(r, depth + 1);
      else if (field === 2) {
        const record = logRecord(r, depth + 1, tenant, receiver, observedNow, out);
        if (record) records.push(record);
      } else if (field === 3) r.string();
      else r.skipType(tag & 7, depth);
    }
    for (const record of records) {
      record.scopeName = named.name;
      record.scopeVersion = named.version;
      out.records.push(record);
    }
  });
}

function resourceLogs(r: Reader, depth: number, tenant: string, receiver: string, observedNow: bigint, into: Decoded): void {
  within(r, depth, (end) => {
    let attributes: KeyValue[] | undefined;
    const outcome: ResourceOutcome = { records: [], count: 0, rejected: 0, rejectionReason: '' };
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1) attributes = resourceAttributes(r, depth + 1);
      else if (field === 2) scopeLogs(r, depth + 1, tenant, receiver, observedNow, outcome);
      else if (field === 3) r.string();
      else r.skipType(tag & 7, depth);
    }
    let shared: Record<string, string>;
    try {
      shared = attributeMap(attributes);
    } catch (error) {
      // Every record of a resource that cannot be read is refused; other resources go on.
      if (!(error instanceof MeshlogError)) throw error;
      into.rejected += outcome.count;
      if (outcome.count > 0) into.rejectionReason ||= `resource attributes: ${error.message}`;
      return;
    }
    const serviceName = shared['service.name'] ?? '';
    for (const record of outcome.records) {
      record.resource = shared;
      record.serviceName = serviceName;
      into.records.push(record);
    }
    into.rejected += outcome.rejected;
    into.rejectionReason ||= outcome.rejectionReason;
  });
}

/** Throws what protobufjs throws for bytes it cannot read (see otlpEnvelope.ts for how they are answered). */
export function readOtlpLogsRequest(body: Uint8Array, tenant: string, receiver: string): Decoded {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = protobuf.Reader.create(bytes) as Reader;
  const decoded: Decoded = { records: [], rejected: 0, rejectionReason: '' };
  const observedNow = BigInt(Date.now()) * 1_000_000n;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) resourceLogs(r, 1, tenant, receiver, observedNow, decoded);
    else r.skipType(tag & 7, 0);
  }
  return decoded;
}
