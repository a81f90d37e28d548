import protobuf from 'protobufjs';
import { maxNestingDepth, nestingError } from '../../../formats/nesting.js';

/**
 * OTLP values as meshlog stores them, shared by the logs and traces decoders:
 * the plain-object shape of OTLP/JSON and of decoded OTLP/protobuf.
 */
/** A 64-bit integer as decoded OTLP/protobuf holds it (long.js): kept as is, since turning it into a decimal string costs more than the rest of the decoding. */
export interface Int64 {
  low: number;
  high: number;
  unsigned: boolean;
}

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  /** Number(intValue) and String(intValue) give the value for every form. */
  intValue?: string | number | Int64;
  doubleValue?: number | string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string | Uint8Array;
}
export interface KeyValue {
  key?: string;
  value?: AnyValue;
}

/** OTLP times: fixed64 nanoseconds, strings in OTLP/JSON (numbers accepted), 64-bit integers in decoded protobuf. */
export function nanos(value: string | number | Int64 | undefined): bigint {
  if (value === undefined || value === '') return 0n;
  if (typeof value === 'object') {
    // Only what the protobuf decoder made: an object in OTLP/JSON is not a time.
    if (!(value instanceof protobuf.util.Long)) throw new TypeError('not a 64-bit integer');
    const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
    return value.unsigned ? bits : BigInt.asIntN(64, bits);
  }
  return typeof value === 'number' ? BigInt(Math.trunc(value)) : BigInt(value);
}

/** Trace and span ids: bytes in protobuf, hex in JSON; undefined when malformed. */
export function idHex(value: string | Uint8Array | undefined, bytes: number): string | undefined {
  if (value === undefined || value.length === 0) return '';
  if (typeof value === 'string') {
    return value.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(value) ? value.toLowerCase() : undefined;
  }
  return value.length === bytes ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') : undefined;
}

/**
 * A structured value (kvlist, array) as JSON text, so that `| json` gives its keys as
 * Loki gives those of a map body (pdata's AsString): nested keys joined with `_`,
 * integers with every digit of their 64 bits (a JavaScript number would round them).
 */
function jsonText(value: AnyValue | undefined, depth = 1): string {
  if (!value) return 'null';
  // kvlist and array values nest: each level is one level of the limit.
  if (depth > maxNestingDepth) throw nestingError('an attribute or body value');
  if (value.stringValue !== undefined) return JSON.stringify(value.stringValue);
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.intValue !== undefined) return /^-?\d+$/.test(String(value.intValue)) ? String(value.intValue) : 'null';
  if (value.doubleValue !== undefined) return JSON.stringify(Number(value.doubleValue));
  if (value.arrayValue !== undefined) return `[${(value.arrayValue.values ?? []).map((item) => jsonText(item, depth + 1)).join(',')}]`;
  if (value.kvlistValue !== undefined) {
    // A key sent twice keeps its first place and its last value, as an object would.
    const members = new Map<string, string>();
    for (const kv of value.kvlistValue.values ?? []) members.set(kv.key ?? '', jsonText(kv.value, depth + 1));
    return `{${[...members].map(([key, member]) => `${JSON.stringify(key)}:${member}`).join(',')}}`;
  }
  if (value.bytesValue !== undefined) {
    return JSON.stringify(typeof value.bytesValue === 'string' ? value.bytesValue : Buffer.from(value.bytesValue).toString('base64'));
  }
  return 'null';
}

/** Attribute and body values are stored as text; structured ones as JSON. */
export function text(value: AnyValue | undefined): string {
  if (!value) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.doubleValue !== undefined) return String(Number(value.doubleValue));
  if (value.bytesValue !== undefined)
    return typeof value.bytesValue === 'string' ? value.bytesValue : Buffer.from(value.bytesValue).toString('base64');
  if (value.arrayValue !== undefined || value.kvlistValue !== undefined) return jsonText(value);
  return '';
}

export function attributeMap(attributes: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  // An empty key is absent from the wire (proto3, protojson): it is still the key ''.
  if (attributes) for (const kv of attributes) out[kv.key ?? ''] = text(kv.value);
  return out;
}
