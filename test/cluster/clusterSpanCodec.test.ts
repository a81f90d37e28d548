import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSpans, encodeSpans } from '../../src/cluster/spanCodec.js';
import type { SpanRecord } from '../../src/model/spanRecord.js';

const span = (spanId: string, extra: Partial<SpanRecord> = {}): SpanRecord => ({
  tenant: 't1',
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId,
  parentSpanId: '',
  traceState: '',
  name: 'POST /pay',
  kind: 'SERVER',
  startTimeUnixNano: 1_767_323_045_123_456_789n,
  durationNano: 250_000_001n,
  serviceName: 'checkout',
  resource: { 'service.name': 'checkout' },
  scopeName: 'checkout.http',
  scopeVersion: '1.4.2',
  attributes: { 'http.route': '/pay' },
  statusCode: 'ERROR',
  statusMessage: 'card declined',
  events: [{ timeUnixNano: 1_767_323_045_300_000_000n, name: 'retry', attributes: { attempt: '2' } }],
  receiver: 'otlp_http',
  ...extra,
});

test('a span message gives back every field of its spans, nanosecond times of spans and events included', () => {
  const spans = [span('eee19b7ec3c1b174'), span('00f067aa0ba902b7', { events: [], parentSpanId: 'eee19b7ec3c1b174', name: 'ünï' })];
  const [message] = encodeSpans(spans, 1 << 20);
  assert.equal(message.records, 2);
  assert.deepEqual(decodeSpans(message.payload), spans);
});

test('the same spans sent again get the same message ids, other spans other ids, apart from records ids', () => {
  const first = encodeSpans([span('eee19b7ec3c1b174')], 1 << 20);
  assert.deepEqual(
    encodeSpans([span('eee19b7ec3c1b174')], 1 << 20).map((message) => message.id),
    first.map((message) => message.id),
  );
  assert.notEqual(encodeSpans([span('eee19b7ec3c1b175')], 1 << 20)[0].id, first[0].id);
  assert.notEqual(encodeSpans([span('eee19b7ec3c1b174', { tenant: 't2' })], 1 << 20)[0].id, first[0].id);
  assert.match(first[0].id, /^spans\./);
});

test('spans over the message size are split; a span larger than it travels alone; nothing is lost', () => {
  const spans = Array.from({ length: 20 }, (_, i) =>
    span(i.toString(16).padStart(16, '0'), { statusMessage: 'x'.repeat(i === 7 ? 5000 : 100) }),
  );
  const messages = encodeSpans(spans, 1000);
  assert.ok(messages.length > 2);
  assert.equal(new Set(messages.map((message) => message.id)).size, messages.length);
  assert.deepEqual(
    messages.flatMap((message) => decodeSpans(message.payload)),
    spans,
  );
  assert.equal(encodeSpans([], 1000).length, 0);
});
