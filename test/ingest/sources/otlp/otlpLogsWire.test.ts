import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { MeshlogError } from '../../../../src/errors.js';
import { loadProtos } from '../../../../src/formats/protoRoot.js';
import { decodeOtlpLogsProtobuf, otlpLogsFromObject, type OtlpRequest } from '../../../../src/ingest/sources/otlp/otlpLogs.js';
import { otlpRequestFromProtobuf } from '../../../../src/ingest/sources/otlp/otlpEnvelope.js';
import type { LogRecord } from '../../../../src/model/logRecord.js';

const root = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']);
const type = (name: string) => root.lookupType(name);
const ExportLogsServiceRequest = type('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ResourceLogs = type('opentelemetry.proto.logs.v1.ResourceLogs');
const ScopeLogs = type('opentelemetry.proto.logs.v1.ScopeLogs');
const LogRecordType = type('opentelemetry.proto.logs.v1.LogRecord');
const AnyValue = type('opentelemetry.proto.common.v1.AnyValue');

/** The decoder the wire reader replaced: protobufjs's decode and toObject, then the plain-object path. */
function throughToObject(body: Uint8Array): ReturnType<typeof decodeOtlpLogsProtobuf> {
  return otlpLogsFromObject(otlpRequestFromProtobuf<OtlpRequest>(ExportLogsServiceRequest, body), 't1', 'otlp_http');
}

/** A small seeded generator (mulberry32): the same messages on every run. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: T[]): T => items[int(items.length)];
  return { next, int, pick };
}
type Random = ReturnType<typeof generator>;

const strings = ['', 'GET /api/cart 200', 'ünïcödé ✓ 🚀', 'quote " backslash \\ newline \n tab \t', 'a'.repeat(300), '\u0000nul', 'x'];
const int64s = ['0', '1', '-1', '9007199254740993', '-9223372036854775808', '9223372036854775807', '4294967296', '-4294967297'];
const uint64s = ['0', '1', '1732546000123456789', '9223372036854775809', '18446744073709551615', '4294967295'];
const doubles = [0, -0, 1.5, -2.25e-300, 1e21, 123456789.125, NaN, Infinity, -Infinity];

function anyValue(random: Random, depth: number): Record<string, unknown> {
  const kind = random.int(depth > 3 ? 5 : 7);
  switch (kind) {
    case 0:
      return { stringValue: random.pick(strings) };
    case 1:
      return { boolValue: random.next() < 0.5 };
    case 2:
      return { intValue: random.pick(int64s) };
    case 3:
      return { doubleValue: random.pick(doubles) };
    case 4:
      return { bytesValue: Buffer.from(Array.from({ length: random.int(6) }, () => random.int(256))) };
    case 5:
      return { arrayValue: { values: Array.from({ length: random.int(4) }, () => anyValue(random, depth + 1)) } };
    default:
      return { kvlistValue: { values: keyValues(random, depth + 1) } };
  }
}

function keyValues(random: Random, depth: number): Record<string, unknown>[] {
  const keys = ['service.name', 'http.route', '', 'k', 'k', 'ünï', 'a.b.c'];
  return Array.from({ length: random.int(5) }, () =>
    random.next() < 0.1 ? { key: random.pick(keys) } : { key: random.pick(keys), value: anyValue(random, depth) },
  );
}

/** Encoded as protobufjs encodes it, then sometimes given what other encoders send: a field twice, unknown fields. */
function encode(messageType: protobuf.Type, object: Record<string, unknown>, random: Random, extra?: () => Uint8Array): Uint8Array {
  const parts = [messageType.encode(messageType.fromObject(object)).finish()];
  // Concatenated messages of one type are one message with every field of both (the later singular field wins).
  if (extra && random.next() < 0.15) parts.push(extra());
  if (random.next() < 0.1)
    parts.push(
      protobuf.Writer.create()
        .uint32((999 << 3) | 0)
        .uint64(random.int(1e6))
        .finish(),
    );
  if (random.next() < 0.05)
    parts.push(
      protobuf.Writer.create()
        .uint32((998 << 3) | 2)
        .bytes(Buffer.from('unknown'))
        .finish(),
    );
  return Buffer.concat(parts);
}

/** A length-delimited field holding already-encoded bytes. */
function field(number: number, bytes: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((number << 3) | 2)
    .bytes(bytes)
    .finish();
}

function logRecord(random: Random): Uint8Array {
  const object: Record<string, unknown> = {};
  if (random.next() < 0.9) object.timeUnixNano = random.pick(uint64s);
  if (random.next() < 0.95) object.observedTimeUnixNano = random.pick(uint64s.filter((value) => value !== '0'));
  if (random.next() < 0.8) object.severityNumber = random.int(30) - 3;
  if (random.next() < 0.7) object.severityText = random.pick(['INFO', 'WARN', '', 'ünï']);
  if (random.next() < 0.9) object.body = anyValue(random, 1);
  if (random.next() < 0.8) object.attributes = keyValues(random, 1);
  if (random.next() < 0.3) object.droppedAttributesCount = random.int(5);
  if (random.next() < 0.7) object.flags = random.pick([0, 1, 0x1ff, 0xffffffff]);
  if (random.next() < 0.8) object.traceId = Buffer.alloc(random.pick([16, 16, 16, 0, 15]), random.int(256));
  if (random.next() < 0.8) object.spanId = Buffer.alloc(random.pick([8, 8, 8, 0, 9]), random.int(256));
  if (random.next() < 0.3) object.eventName = random.pick(strings);
  return encode(LogRecordType, object, random, () =>
    // A second body, or one AnyValue with two of its oneof members set (a sender protobufjs reads leniently).
    random.next() < 0.5
      ? field(5, AnyValue.encode(AnyValue.fromObject(anyValue(random, 1))).finish())
      : field(5, Buffer.concat([0, 1].map(() => AnyValue.encode(AnyValue.fromObject(anyValue(random, 3))).finish()))),
  );
}

function scopeLogs(random: Random): Uint8Array {
  const object: Record<string, unknown> = {};
  if (random.next() < 0.7)
    object.scope = { name: random.pick(strings), version: random.pick(['', '1.2.3']), attributes: keyValues(random, 1) };
  if (random.next() < 0.2) object.schemaUrl = 'https://opentelemetry.io/schemas/1.21.0';
  const records = Array.from({ length: random.int(6) }, () => field(2, logRecord(random)));
  return Buffer.concat([encode(ScopeLogs, object, random, () => field(1, Buffer.from([10, 1, 122]))), ...records]);
}

function resourceLogs(random: Random): Uint8Array {
  const object: Record<string, unknown> = {};
  if (random.next() < 0.9) object.resource = { attributes: keyValues(random, 1), droppedAttributesCount: random.int(3) };
  const scopes = Array.from({ length: random.int(4) }, () => field(2, scopeLogs(random)));
  // The resource after its records, as the wire allows: the records still get it.
  const resource = encode(ResourceLogs, object, random, () =>
    field(
      1,
      Buffer.from(
        type('opentelemetry.proto.resource.v1.Resource')
          .encode({ attributes: keyValues(random, 1) })
          .finish(),
      ),
    ),
  );
  return Buffer.concat(random.next() < 0.3 ? [...scopes, resource] : [resource, ...scopes]);
}

function request(random: Random): Uint8Array {
  return Buffer.concat(Array.from({ length: random.int(4) }, () => field(1, resourceLogs(random))));
}

/** Records where the sender gave no observed time get the receipt time: the two decoders read the clock apart. */
function withReceiptTime(records: LogRecord[], like: LogRecord[], receivedFrom: bigint): LogRecord[] {
  return records.map((record, i) => {
    const other = like[i];
    if (!other || record.observedTimeUnixNano < receivedFrom || other.observedTimeUnixNano < receivedFrom) return record;
    const observed = other.observedTimeUnixNano;
    const time = record.timeUnixNano === record.observedTimeUnixNano ? observed : record.timeUnixNano;
    return { ...record, observedTimeUnixNano: observed, timeUnixNano: time };
  });
}

test('the wire decoder gives the records protobufjs toObject gave, over 3,000 generated requests', () => {
  const random = generator(22);
  let records = 0;
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const body = request(random);
    const receivedFrom = BigInt(Date.now()) * 1_000_000n;
    const expected = throughToObject(body);
    const actual = decodeOtlpLogsProtobuf(body, 't1', 'otlp_http');
    assert.deepEqual({ ...actual, records: withReceiptTime(actual.records, expected.records, receivedFrom) }, expected, `request ${i}`);
    records += actual.records.length;
    rejected += actual.rejected;
  }
  // The generator reaches both outcomes, so the comparison covers them.
  assert.ok(records > 10_000, `${records} records`);
  assert.ok(rejected > 500, `${rejected} rejected`);
});

test('the wire decoder refuses truncated and corrupted requests as protobufjs did, with the same message', () => {
  const random = generator(7);
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const body = Buffer.from(request(random));
    if (body.length === 0) continue;
    const damaged = random.next() < 0.5 ? body.subarray(0, random.int(body.length)) : body;
    if (damaged === body) for (let flips = 0; flips < 3; flips++) body[random.int(body.length)] = random.int(256);
    const outcome = (decode: () => unknown) => {
      try {
        const decoded = decode() as ReturnType<typeof decodeOtlpLogsProtobuf>;
        return { records: decoded.records.length, rejected: decoded.rejected, reason: decoded.rejectionReason };
      } catch (error) {
        assert.ok(error instanceof MeshlogError, (error as Error).stack);
        return { error: `${error.code}: ${error.message}` };
      }
    };
    const expected = outcome(() => throughToObject(damaged));
    assert.deepEqual(
      outcome(() => decodeOtlpLogsProtobuf(damaged, 't1', 'otlp_http')),
      expected,
      `request ${i}: ${damaged.toString('hex')}`,
    );
    if ('error' in expected) refused++;
  }
  assert.ok(refused > 300, `${refused} refused`);
});

test('an attribute whose key is empty (absent from the wire, as proto3 encoders send it) is stored under the key ""', () => {
  const body = ExportLogsServiceRequest.encode(
    ExportLogsServiceRequest.fromObject({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1732546000123456789',
                  attributes: [{ key: '', value: { stringValue: 'v' } }],
                  body: { kvlistValue: { values: [{ key: '', value: { intValue: '1' } }] } },
                },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
  const [record] = decodeOtlpLogsProtobuf(body, 't1', 'otlp_http').records;
  assert.deepEqual(record.attributes, { '': 'v' });
  assert.equal(record.body, '{"":1}');
});

test('a request nested past the limit is refused whole, naming the limit', () => {
  // Built field by field: protobufjs's own encoder refuses to build it.
  let value = AnyValue.encode({ stringValue: 'deep' }).finish();
  const key = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('k')
    .finish();
  for (let i = 0; i < 40; i++) value = field(6, field(1, Buffer.concat([key, field(2, value)])));
  const body = field(1, field(2, field(2, field(5, value))));
  for (const decode of [() => decodeOtlpLogsProtobuf(body, 't1', 'otlp_http'), () => throughToObject(body)]) {
    assert.throws(
      decode,
      (error: unknown) =>
        error instanceof MeshlogError && error.code === 'ML_DECODE' && /nested deeper than 100 levels/.test(error.message),
    );
  }
});
