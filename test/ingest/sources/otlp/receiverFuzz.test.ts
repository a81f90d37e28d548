import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMulti, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import snappy from 'snappy';
import { MeshlogError } from '../../../../src/errors.js';
import type { LogRecord } from '../../../../src/model/logRecord.js';
import type { SpanRecord } from '../../../../src/model/spanRecord.js';
import { decodeDatadogLogs } from '../../../../src/ingest/sources/datadog/datadogLogs.js';
import { decodeElasticBulk } from '../../../../src/ingest/sources/elasticsearch/elasticBulk.js';
import { forwardExtensionCodec, forwardMessage } from '../../../../src/ingest/sources/fluent/fluentForward.js';
import { decodeLokiPushJson, decodeLokiPushProtobuf } from '../../../../src/ingest/sources/loki/lokiPush.js';
import { decodeOtlpLogsJson, decodeOtlpLogsProtobuf } from '../../../../src/ingest/sources/otlp/otlpLogs.js';
import { decodeOtlpTracesJson, decodeOtlpTracesProtobuf } from '../../../../src/ingest/sources/otlp/otlpTraces.js';
import { decodeHecEvents, decodeHecRaw } from '../../../../src/ingest/sources/splunk/splunkHec.js';
import { syslogRecord } from '../../../../src/formats/syslog.js';
import { SyslogFrameReader } from '../../../../src/ingest/sources/syslog/syslogFraming.js';
import { recordTimeProblem, spanTimeProblem, storageOnlyWindow, timeProblem } from '../../../../src/ingest/sources/shared/timeWindow.js';
import { decodeZipkinSpans } from '../../../../src/ingest/sources/zipkin/zipkinSpans.js';
import { openLogRow } from '../../../../src/storage/logs/logRows.js';
import { spanRow } from '../../../../src/storage/logs/spanRows.js';

/**
 * Issue 17: every receiver's decoder, fed arbitrary bytes and valid-but-extreme
 * messages (deep nesting, many attributes, extreme numbers and times, any
 * unicode), either decodes or throws a MeshlogError with a 4xx status; what
 * it decodes can be turned into storage rows, and the time window judges
 * every record without throwing. Runs are bounded (the suite stays fast).
 */

const numRuns = 60;
const maxBytes = 1 << 20;

/** The decoder's failure, if any, is a client error; anything else fails the property. */
async function only4xx(run: () => unknown): Promise<void> {
  try {
    const decoded = await run();
    checkDecoded(decoded);
  } catch (error) {
    if (!(error instanceof MeshlogError)) throw new Error(`not a MeshlogError: ${(error as Error)?.stack ?? String(error)}`);
    assert.ok(error.status >= 400 && error.status < 500, `${error.code} ${error.status}: ${error.message}`);
  }
}

const now = BigInt(Date.now()) * 1_000_000n;

function checkDecoded(decoded: unknown): void {
  const records: LogRecord[] = Array.isArray(decoded)
    ? (decoded as LogRecord[])
    : ((decoded as { records?: LogRecord[] } | undefined)?.records ?? []);
  for (const record of records) {
    recordTimeProblem(record, storageOnlyWindow, now);
    JSON.parse(`${openLogRow(record)}}`);
  }
  const spans: SpanRecord[] = (decoded as { spans?: SpanRecord[] } | undefined)?.spans ?? [];
  for (const span of spans) {
    // Only spans the window takes reach storage.
    if (spanTimeProblem(span, storageOnlyWindow, now) === undefined) JSON.parse(spanRow(span));
  }
}

/** Text nested `depth` levels: objects or arrays, as JSON. */
const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));
const extremeNumber = fc.oneof(
  fc.constantFrom(
    '-5',
    '0',
    '-0',
    '1e308',
    '-1e308',
    '18446744073709551615',
    '9223372036854775808',
    '-9223372036854775809',
    '-62135596800000000000',
    '1.5',
    '"abc"',
    'null',
    'true',
  ),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)),
);
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
/** A JSON value with every kind of leaf, nesting past the limit, unicode (lone surrogates included). */
const extremeValue: fc.Arbitrary<string> = fc.oneof(
  deepJson,
  extremeNumber,
  anyText.map((value) => JSON.stringify(value)),
  fc.integer({ min: 1, max: 3000 }).map((count) => `{${Array.from({ length: count }, (_, index) => `"k${index}":${index}`).join(',')}}`),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null'),
);

const bytes = fc.uint8Array({ maxLength: 2048 });

test('OTLP logs and traces decoders (JSON and protobuf) refuse arbitrary bytes and extreme messages only with 4xx', async () => {
  await fc.assert(
    fc.asyncProperty(bytes, async (body) => {
      await only4xx(() => decodeOtlpLogsProtobuf(body, 't', 'r'));
      await only4xx(() => decodeOtlpLogsJson(body, 't', 'r'));
      await only4xx(() => decodeOtlpTracesProtobuf(body, 't', 'r'));
      await only4xx(() => decodeOtlpTracesJson(body, 't', 'r'));
    }),
    { numRuns },
  );
  await fc.assert(
    fc.asyncProperty(extremeNumber, extremeNumber, extremeValue, extremeValue, anyText, async (time, observed, body, attribute, key) => {
      const logs = `{"resourceLogs":[{"resource":{"attributes":[{"key":${JSON.stringify(key)},"value":{"kvlistValue":{"values":[{"key":"x","value":{"stringValue":${JSON.stringify(attribute)}}}]}}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":${time},"observedTimeUnixNano":${observed},"body":{"stringValue":${JSON.stringify(body)}},"attributes":[{"key":"v","value":{"arrayValue":{"values":[{"doubleValue":${observed}}]}}}],"traceId":${JSON.stringify(key)}}]}]}]}`;
      await only4xx(() => decodeOtlpLogsJson(Buffer.from(logs), 't', 'r'));
      const spans = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":${time},"endTimeUnixNano":${observed},"events":[{"timeUnixNano":${observed}}],"attributes":[{"key":"a","value":${body.startsWith('{') ? body : '{}'}}]}]}]}]}`;
      await only4xx(() => decodeOtlpTracesJson(Buffer.from(spans), 't', 'r'));
    }),
    { numRuns },
  );
});

test('Loki push decoders (JSON and snappy protobuf) refuse arbitrary bytes and extreme messages only with 4xx', async () => {
  await fc.assert(
    fc.asyncProperty(bytes, async (body) => {
      await only4xx(() => decodeLokiPushJson(Buffer.from(body), 't', 'r'));
      await only4xx(() => decodeLokiPushProtobuf(Buffer.from(body), maxBytes, 't', 'r'));
      // Arbitrary bytes that are valid snappy: the protobuf decoder behind it.
      await only4xx(async () => decodeLokiPushProtobuf(await snappy.compress(Buffer.from(body)), maxBytes, 't', 'r'));
    }),
    { numRuns },
  );
  await fc.assert(
    fc.asyncProperty(extremeNumber, extremeValue, extremeValue, anyText, async (time, line, metadata, label) => {
      const push = `{"streams":[{"stream":{${JSON.stringify(label)}:${line.length < 50 ? line : '"x"'}},"values":[[${time.startsWith('"') ? time : JSON.stringify(time)},${line},${metadata}]]}]}`;
      await only4xx(() => decodeLokiPushJson(Buffer.from(push), 't', 'r'));
    }),
    { numRuns },
  );
});

test('Elasticsearch bulk, Splunk HEC, Datadog and Zipkin decoders refuse arbitrary bytes and extreme messages only with 4xx', async () => {
  await fc.assert(
    fc.asyncProperty(bytes, fc.boolean(), async (body, plain) => {
      const buffer = Buffer.from(body);
      await only4xx(() => decodeElasticBulk(buffer, undefined, 't', 'r'));
      await only4xx(() => decodeHecEvents(buffer, {}, 't', 'r'));
      await only4xx(() => decodeHecRaw(buffer, {}, 't', 'r'));
      await only4xx(() => decodeDatadogLogs(buffer, plain, 'a:b', 't', 'r'));
      await only4xx(() => decodeZipkinSpans(buffer, 't', 'r'));
    }),
    { numRuns },
  );
  await fc.assert(
    fc.asyncProperty(extremeNumber, extremeValue, extremeValue, async (time, value, other) => {
      const quoted = time.startsWith('"') ? time : JSON.stringify(time);
      await only4xx(() =>
        decodeElasticBulk(
          Buffer.from(
            `{"index":{"_index":"x","_id":${other.length < 40 ? other : '"i"'}}}\n{"@timestamp":${time},"event.created":${quoted},"message":${value},"nested":${other}}\n`,
          ),
          undefined,
          't',
          'r',
        ),
      );
      await only4xx(() =>
        decodeHecEvents(Buffer.from(`{"time":${time},"event":${value},"fields":${other}}{"event":"ok","time":${quoted}}`), {}, 't', 'r'),
      );
      await only4xx(() =>
        decodeDatadogLogs(
          Buffer.from(`[{"timestamp":${time},"message":${value},"ddtags":${other},"x":${other}},${value}]`),
          false,
          '',
          't',
          'r',
        ),
      );
      await only4xx(() =>
        decodeZipkinSpans(
          Buffer.from(
            `[{"traceId":"5b8efff798038103","id":"eee19b7ec3c1b174","timestamp":${time},"duration":${time},"tags":${value},"annotations":[{"timestamp":${time},"value":${other}}]},${value}]`,
          ),
          't',
          'r',
        ),
      );
    }),
    { numRuns },
  );
});

test('forward (msgpack) and syslog framing refuse arbitrary bytes and extreme messages only with 4xx', async () => {
  const options = { tenant: 't', receiver: 'forward', maxDecompressedBytes: maxBytes };
  const messages = (body: Uint8Array) => {
    try {
      return [...decodeMulti(body, { extensionCodec: forwardExtensionCodec })];
    } catch {
      return []; // The listener closes the connection on msgpack it cannot read: not a decoder path.
    }
  };
  await fc.assert(
    fc.asyncProperty(bytes, async (body) => {
      for (const message of messages(body)) await only4xx(() => forwardMessage(message, options));
      const reader = new SyslogFrameReader(64 * 1024);
      const frames = [...reader.push(Buffer.from(body)), ...reader.end()];
      for (const frame of frames)
        await only4xx(() => [syslogRecord(frame, { tenant: 't', receiver: 'syslog', peer: 'p', receivedUnixNano: now })]);
    }),
    { numRuns },
  );
  // Extreme but well-formed forward messages: any times (uint64 seconds too), deep and wide records, any text.
  // Built inside the property: fast-check could not print a 5,000-deep value in a counterexample.
  const deepRecord = () => {
    let deep: unknown = 'bottom';
    for (let level = 0; level < 1000; level++) deep = { k: deep }; // 1,000: the msgpack encoder itself recurses
    return { deep };
  };
  const record = fc.oneof(
    fc.constant('deep' as const),
    fc.dictionary(anyText, fc.oneof(anyText, fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n })), { maxKeys: 200 }),
  );
  const time = fc.oneof(fc.integer(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.double(), anyText);
  await fc.assert(
    fc.asyncProperty(anyText, time, record, async (tag, at, entry) => {
      // Through the encoder and back, as a socket would carry it.
      const value = entry === 'deep' ? deepRecord() : entry;
      for (const message of messages(encode([tag, [[at, value]], { chunk: 'c' }], { useBigInt64: true, maxDepth: 10_000 } as never))) {
        await only4xx(() => forwardMessage(message, options));
      }
    }),
    { numRuns },
  );
  // Syslog lines with extreme timestamps: year 1, year 9999, negative offsets, garbage.
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z', '1969-12-31T23:59:59-23:59', '2024-02-30T25:61:61Z', '-'),
      anyText,
      async (stamp, message) => {
        await only4xx(() => [
          syslogRecord(`<34>1 ${stamp} host app 1 ID47 - ${message}`, {
            tenant: 't',
            receiver: 'syslog',
            peer: 'p',
            receivedUnixNano: now,
          }),
        ]);
      },
    ),
    { numRuns },
  );
});

test('the time window never throws and refuses exactly what storage cannot hold', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 90n), max: 2n ** 90n }), (ns) => {
      const problem = timeProblem(ns, 'timestamp', storageOnlyWindow, now);
      assert.equal(problem === undefined, ns >= 0n && ns <= 2n ** 63n - 1n, `${ns}: ${problem}`);
    }),
    { numRuns: 500 },
  );
});
