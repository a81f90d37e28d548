import { createHash } from 'node:crypto';
import { decodeMulti, Encoder } from '@msgpack/msgpack';
import type { LogRecord } from '../model/logRecord.js';

/** The record id OpenTelemetry defines (ingest's redelivery filter keys on it too). */
const recordIdAttribute = 'log.record.uid';

/** One stream message: records of one request (or a slice of it) and the id JetStream deduplicates it by. */
export interface EncodedMessage {
  id: string;
  payload: Uint8Array;
  records: number;
}

const encoder = new Encoder({ ignoreUndefined: true });

type Core = Omit<LogRecord, 'timeUnixNano' | 'observedTimeUnixNano' | 'patternId' | 'stream'> & { timeUnixNano: string };
interface Extras {
  observedTimeUnixNano: string;
  patternId?: string;
}

/**
 * What a resend of the same request carries again: everything but the
 * receipt time and the pattern id (each node's miner numbers its own).
 */
function core(record: LogRecord): Uint8Array {
  // A record's stream position is where a consumer found it, never part of what is published.
  const { observedTimeUnixNano: _observed, patternId: _pattern, stream: _stream, timeUnixNano, ...rest } = record;
  return encoder.encode({ ...rest, timeUnixNano: timeUnixNano.toString() } satisfies Core);
}

function extras(record: LogRecord): Uint8Array {
  return encoder.encode({ observedTimeUnixNano: record.observedTimeUnixNano.toString(), patternId: record.patternId } satisfies Extras);
}

/**
 * Splits one request's records into messages of at most `maxBytes` (a record
 * larger than that travels alone). Each message's id is the digest of its
 * records' ids where every record has one, else of its records' content, so
 * the same request sent again, to this node or another, gets the same ids.
 */
export function encodeRecords(records: LogRecord[], receiver: string, maxBytes: number): EncodedMessage[] {
  const header = encoder.encode({ receiver });
  const messages: EncodedMessage[] = [];
  let parts: Uint8Array[] = [header];
  let size = header.length;
  let hash = createHash('sha256');
  let count = 0;
  let everyRecordHasId = true;
  let ids: string[] = [];
  const flush = () => {
    const id = everyRecordHasId ? createHash('sha256').update(ids.join('\n')).digest('base64url') : hash.digest('base64url');
    // The slice's place in the request keeps two identical slices of one request apart.
    messages.push({ id: `${id}.${messages.length}`, payload: Buffer.concat(parts), records: count });
    parts = [header];
    size = header.length;
    hash = createHash('sha256');
    count = 0;
    everyRecordHasId = true;
    ids = [];
  };
  for (const record of records) {
    const body = core(record);
    const more = extras(record);
    if (count > 0 && size + body.length + more.length > maxBytes) flush();
    parts.push(body, more);
    size += body.length + more.length;
    hash.update(body);
    count++;
    const uid = record.attributes[recordIdAttribute];
    if (uid) ids.push(`${record.tenant}\u0000${uid}`);
    else everyRecordHasId = false;
  }
  if (count > 0) flush();
  return messages;
}

/** The records and receiver of one stream message. */
export function decodeRecords(payload: Uint8Array): { receiver: string; records: LogRecord[] } {
  const values = decodeMulti(payload)[Symbol.iterator]();
  const header = values.next().value as { receiver: string };
  const records: LogRecord[] = [];
  for (;;) {
    const next = values.next();
    if (next.done) break;
    const body = next.value as Core;
    const more = values.next().value as Extras;
    records.push({
      ...body,
      // Absent on the wire (msgpack has no undefined), present on a record.
      mesh: body.mesh ?? undefined,
      timeUnixNano: BigInt(body.timeUnixNano),
      observedTimeUnixNano: BigInt(more.observedTimeUnixNano),
      patternId: more.patternId,
    });
  }
  return { receiver: header.receiver, records };
}
