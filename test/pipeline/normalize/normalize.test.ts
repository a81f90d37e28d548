import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveServiceName } from '../../../src/pipeline/normalize/serviceName.js';
import { severityNumberOf, severityOfStatus, severityTextOf } from '../../../src/pipeline/normalize/severity.js';
import { parseTimestampNanos } from '../../../src/formats/timestamp.js';
import { parseB3Single, parseTraceparent, requestIdOf, traceContextOf } from '../../../src/pipeline/normalize/traceContext.js';

test('severity text to number (OTel ranges) and back', () => {
  const cases: [string, number][] = [
    ['TRACE', 1],
    ['debug', 5],
    ['INFO', 9],
    ['notice', 10],
    ['Warning', 13],
    ['WARN', 13],
    ['err', 17],
    ['ERROR', 17],
    ['critical', 18],
    ['FATAL', 21],
    ['panic', 21],
    ['E', 17],
    ['30', 9],
    ['50', 17],
    ['INFO3', 11],
    ['ERROR4', 20],
    ['chatty', 0],
  ];
  for (const [text, number] of cases) assert.equal(severityNumberOf(text), number, text);
  assert.deepEqual([1, 4, 5, 9, 10, 13, 17, 20, 21, 24].map(severityTextOf), [
    'TRACE',
    'TRACE4',
    'DEBUG',
    'INFO',
    'INFO2',
    'WARN',
    'ERROR',
    'ERROR4',
    'FATAL',
    'FATAL4',
  ]);
  assert.equal(severityTextOf(0), '');
  assert.deepEqual([200, 404, 503].map(severityOfStatus), [9, 13, 17]);
});

test('timestamps to nanoseconds: RFC 3339 fractions and zones, common log format, epoch units', () => {
  const cases: [string, bigint | undefined][] = [
    ['2016-10-06T00:17:09.669794202Z', 1475713029669794202n],
    ['2020-11-25T21:26:18.409Z', 1606339578409000000n],
    ['2020-11-25T22:26:18.409+01:00', 1606339578409000000n],
    ['2020-11-25T16:26:18.409-0500', 1606339578409000000n],
    ['2020-11-25 21:26:18,409', 1606339578409000000n],
    ['2020-11-25T21:26:18Z', 1606339578000000000n],
    ['2022-08-23T20:33:42.3217462129Z', 1661286822321746212n],
    ['25/Nov/2020:21:26:18 +0000', 1606339578000000000n],
    ['25/Nov/2020:22:26:18 +0100', 1606339578000000000n],
    ['1700000000', 1700000000000000000n],
    ['1700000000.5', 1700000000500000000n],
    ['1700000000123', 1700000000123000000n],
    ['1700000000123456', 1700000000123456000n],
    ['1700000000123456789', 1700000000123456789n],
    ['yesterday', undefined],
    ['2020-13-45T99:00:00Z', undefined],
    ['25/Foo/2020:21:26:18 +0000', undefined],
  ];
  for (const [text, nanos] of cases) assert.equal(parseTimestampNanos(text), nanos, text);
});

test('RFC 3339 read digit by digit agrees with Date.parse, edge dates included', () => {
  const viaDateParse = (iso: string, fraction: string) =>
    BigInt(Date.parse(iso)) * 1_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9));
  const cases: [string, bigint | undefined][] = [
    ['2024-02-29T23:59:59.999999999Z', viaDateParse('2024-02-29T23:59:59Z', '999999999')],
    ['2000-02-29T00:00:00Z', viaDateParse('2000-02-29T00:00:00Z', '')],
    ['1999-12-31T23:59:59.5-23:59', viaDateParse('1999-12-31T23:59:59-23:59', '5')],
    ['2026-01-01T00:00:00.123+0530', viaDateParse('2026-01-01T00:00:00+05:30', '123')],
    ['2026-01-01 00:00:00.000001z', viaDateParse('2026-01-01T00:00:00Z', '000001')],
    ['1970-01-01T00:00:00Z', 0n],
    ['0099-06-01T00:00:00Z', viaDateParse('0099-06-01T00:00:00Z', '')],
    // Dates Date.parse rolls over, and malformed ones, take the general path with its answers.
    ['2026-02-30T00:00:00Z', viaDateParse('2026-02-30T00:00:00Z', '')],
    ['1900-02-29T00:00:00Z', viaDateParse('1900-02-29T00:00:00Z', '')],
    ['2026-01-01T23:59:60Z', undefined],
    ['2026-01-01T00:00:00.Z', undefined],
    ['2026-01-01T00:00:00+25:00', undefined],
    ['2026-01-01T00:00:00ZZ', undefined],
  ];
  for (const [text, nanos] of cases) assert.equal(parseTimestampNanos(text), nanos, text);
});

test('trace context: traceparent, B3 single and multi, Envoy %TRACE_ID%, application trace_id', () => {
  assert.deepEqual(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    sampled: true,
  });
  assert.equal(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined, 'all-zero trace id is invalid');
  assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'), undefined, 'all-zero span id is invalid');
  assert.equal(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined, 'version ff is invalid');
  assert.deepEqual(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90'), {
    traceId: '80f198ee56343ba864fe8b2a57d3eff7',
    spanId: 'e457b5a2e4d86bd1',
    sampled: true,
  });
  assert.equal(parseB3Single('0'), undefined, 'a bare sampling decision has no ids');
  assert.deepEqual(
    traceContextOf({
      'http.request.header.x-b3-traceid': '64fe8b2a57d3eff7',
      'http.request.header.x-b3-spanid': 'e457b5a2e4d86bd1',
      'http.request.header.x-b3-sampled': '0',
    }),
    {
      traceId: '000000000000000064fe8b2a57d3eff7',
      spanId: 'e457b5a2e4d86bd1',
      sampled: false,
    },
  );
  assert.deepEqual(traceContextOf({ 'mesh.trace_id': '4BF92F3577B34DA6A3CE929D0E0E4736' }), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '',
    sampled: undefined,
  });
  assert.deepEqual(
    traceContextOf({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' })?.spanId,
    '00f067aa0ba902b7',
  );
  assert.equal(
    traceContextOf({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', trace_id: '11111111111111111111111111111111' })
      ?.traceId,
    '4bf92f3577b34da6a3ce929d0e0e4736',
    'traceparent wins over a bare id',
  );
  assert.equal(traceContextOf({ trace_id: '' }), undefined);
  assert.equal(traceContextOf({ trace_id: 'not-hex-at-all' }), undefined);
  assert.equal(
    requestIdOf({ 'http.request.header.x-request-id': '84961386-6d84-929d-98bd-c5aee93b5c88' }),
    '84961386-6d84-929d-98bd-c5aee93b5c88',
  );
});

test('service name: OTel resource, then the annotation, labels, workload, pod, container, then the mesh workload', () => {
  assert.equal(resolveServiceName({ 'service.name': 'checkout', 'k8s.deployment.name': 'checkout-v2' }, ''), 'checkout');
  assert.equal(resolveServiceName({ 'service.name': 'unknown_service:node', 'k8s.deployment.name': 'checkout-v2' }, ''), 'checkout-v2');
  assert.equal(
    resolveServiceName(
      { 'k8s.pod.labels.app.kubernetes.io/name': 'cart', 'k8s.pod.annotations.resource.opentelemetry.io/service.name': 'cart-api' },
      '',
    ),
    'cart-api',
  );
  assert.equal(
    resolveServiceName({ 'k8s.pod.label.app.kubernetes.io/instance': 'cart-eu', 'k8s.pod.label.app.kubernetes.io/name': 'cart' }, ''),
    'cart-eu',
  );
  assert.equal(resolveServiceName({ 'k8s.pod.name': 'cart-5c4b-fghij', 'k8s.container.name': 'app' }, ''), 'cart-5c4b-fghij');
  assert.equal(resolveServiceName({}, 'frontend_kuma-demo_svc_8080'), 'frontend_kuma-demo_svc_8080');
});
