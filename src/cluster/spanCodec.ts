import { createHash } from 'node:crypto';
import { decodeMulti, Encoder } from '@msgpack/msgpack';
import type { SpanEvent, SpanRecord } from '../model/spanRecord.js';
import type { EncodedMessage } from './recordCodec.js';

const encoder = new Encoder({ ignoreUndefined: true });

/** A span on the wire: its nanosecond times as decimal strings (msgpack has no bigint by default). */
type WireSpan = Omit<SpanRecord, 'startTimeUnixNano' | 'durationNano' | 'events'> & {
  startTimeUnixNano: string;
  durationNano: string;
  events: (Omit<SpanEvent, 'timeUnixNano'> & { timeUnixNano: string })[];
};

function wire(span: SpanRecord): Uint8Array {
  return encoder.encode({
    ...span,
    startTimeUnixNano: span.startTimeUnixNano.toString(),
    durationNano: span.durationNano.toString(),
    events: span.events.map((event) => ({ ...event, timeUnixNano: event.timeUnixNano.toString() })),
  } satisfies WireSpan);
}

/**
 * Splits one request's spans into messages of at most `maxBytes` (a span
 * larger than that travels alone). A span carries no receipt time, so the
 * digest of a message's spans identifies it: the same request sent again,
 * to this node or another, gets the same message ids (`spans.` keeps them
 * apart from the records' ids).
 */
export function encodeSpans(spans: SpanRecord[], maxBytes: number): EncodedMessage[] {
  const messages: EncodedMessage[] = [];
  let parts: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    const payload = Buffer.concat(parts);
    const digest = createHash('sha256').update(payload).digest('base64url');
    // The slice's place in the request keeps two identical slices of one request apart.
    messages.push({ id: `spans.${digest}.${messages.length}`, payload, records: parts.length });
    parts = [];
    size = 0;
  };
  for (const span of spans) {
    const body = wire(span);
    if (parts.length > 0 && size + body.length > maxBytes) flush();
    parts.push(body);
    size += body.length;
  }
  if (parts.length > 0) flush();
  return messages;
}

/** The spans of one stream message. */
export function decodeSpans(payload: Uint8Array): SpanRecord[] {
  return [...decodeMulti(payload)].map((value) => {
    const span = value as WireSpan;
    return {
      ...span,
      startTimeUnixNano: BigInt(span.startTimeUnixNano),
      durationNano: BigInt(span.durationNano),
      events: span.events.map((event) => ({ ...event, timeUnixNano: BigInt(event.timeUnixNano) })),
    };
  });
}
