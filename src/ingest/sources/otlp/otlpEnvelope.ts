import type protobuf from 'protobufjs';
import { MeshlogError } from '../../../errors.js';
import { isStackOverflow, nestingRefusal } from '../../../formats/nesting.js';
import { parseWellFormedJson } from '../../../formats/wellFormedText.js';

/**
 * The envelope every OTLP export request shares: protobuf or JSON bytes in,
 * the plain-object form out (64-bit integers as Int64, enums as numbers, ids as
 * bytes or hex), with the error a client can act on when the bytes are bad.
 */
export function otlpRequestFromProtobuf<T>(type: protobuf.Type, body: Uint8Array): T {
  let message: protobuf.Message;
  try {
    message = type.decode(body);
  } catch (error) {
    throw protobufRefusal(type.name, error);
  }
  try {
    // 64-bit integers stay long.js values (Int64): decimal strings cost more than the rest of the decoding.
    return type.toObject(message, { enums: Number, defaults: false }) as T;
  } catch (error) {
    if (isStackOverflow(error)) throw new MeshlogError('ML_DECODE', `invalid ${type.name} protobuf: messages ${nestingRefusal}`);
    throw error;
  }
}

/** What a client is told about protobuf bytes a decoder could not read. */
export function protobufRefusal(typeName: string, error: unknown): MeshlogError {
  // protobufjs stops at 100 nested messages (protoc's limit): 3 per kvlist level, so about 33 levels of values.
  if (isStackOverflow(error) || /nesting depth/.test((error as Error).message)) {
    return new MeshlogError(
      'ML_DECODE',
      `invalid ${typeName} protobuf: messages ${nestingRefusal} (about 33 levels of kvlist or array values)`,
    );
  }
  return new MeshlogError('ML_DECODE', `invalid ${typeName} protobuf: ${(error as Error).message}`);
}

/** `listField` is the top-level array (resourceLogs, resourceSpans). */
export function otlpRequestFromJson<T>(typeName: string, listField: string, body: Uint8Array): T {
  let request: unknown;
  try {
    request = parseWellFormedJson(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new MeshlogError('ML_DECODE', `invalid JSON: ${(error as Error).message}`);
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new MeshlogError('ML_DECODE', `an ${typeName} JSON object was expected`);
  }
  const list = (request as Record<string, unknown>)[listField];
  if (list !== undefined && !Array.isArray(list)) throw new MeshlogError('ML_DECODE', `${listField} must be an array`);
  return request as T;
}
