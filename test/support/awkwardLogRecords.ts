import type { LogRecord, MeshFields } from '../../src/model/logRecord.js';

/** A record as the OTLP receiver makes one, with `overrides`. */
export function record(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    tenant: 'acme',
    timeUnixNano: 1_733_550_000_123_456_789n,
    observedTimeUnixNano: 1_733_550_000_123_457_789n,
    severityNumber: 9,
    severityText: 'INFO',
    body: 'order 42 processed',
    serviceName: 'checkout',
    resource: { 'service.name': 'checkout', 'k8s.namespace.name': 'shop' },
    scopeName: 'checkout.logger',
    scopeVersion: '2.1.0',
    attributes: { 'http.route': '/api/checkout', thread: 'worker-3' },
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
    eventName: '',
    mesh: undefined,
    receiver: 'otlp_http',
    ...overrides,
  };
}

/** Mesh fields of an Istio access log line. */
export const mesh: MeshFields = {
  mesh: 'istio',
  platform: 'kubernetes',
  cluster: 'eu-1',
  sourceWorkload: 'frontend',
  destinationWorkload: 'checkout',
  protocol: 'HTTP/1.1',
  responseCode: 503,
  durationMs: 12.5,
  bytesSent: 1024,
  bytesReceived: 77,
  requestId: '5f6c1c9e-8a9b-4c1e-9d2f-0a1b2c3d4e5f',
};

/**
 * Records whose values are awkward to encode (out of their columns' range,
 * quotes and control characters, lone surrogates, odd keys): every encoding of
 * a log row must hold them as the first one did.
 */
export const awkwardLogRecords: [string, LogRecord][] = [
  ['a plain record', record()],
  ['a record with a pattern id', record({ patternId: '0123456789abcdef' })],
  ['a record with mesh fields', record({ mesh })],
  [
    'mesh numbers out of their columns’ range',
    record({
      mesh: { ...mesh, responseCode: 70_000, durationMs: Number.NaN, bytesSent: -5, bytesReceived: 1e21 + 0.5 },
    }),
  ],
  [
    'infinite duration, negative zero, fractional byte counts',
    record({ mesh: { ...mesh, durationMs: -0, bytesSent: 7.9, bytesReceived: Infinity } }),
  ],
  ['times before 1970 and past 2262', record({ timeUnixNano: -5n, observedTimeUnixNano: 2n ** 70n })],
  ['severity and flags past a byte', record({ severityNumber: 300, traceFlags: -1 })],
  ['NUL, quotes, brackets and newlines', record({ body: '"],[\u0000\n\\', severityText: '"x"', attributes: { '"]': '[' } })],
  ['quotes, backslashes and control characters', record({ body: 'say "hi" \\ \n\t\u0000\u001f\u007f', severityText: '"x"' })],
  ['non-ASCII text and emoji', record({ body: 'naïve café 日本語 🚀', serviceName: 'zahlungsdienst-ü' })],
  ['a lone surrogate in the body and in an attribute', record({ body: 'broken \ud800 pair', attributes: { 'k\udc00': 'v\ud83d' } })],
  ['odd attribute keys', record({ resource: {}, attributes: { '': '', '"': '\\', 'a.b.c': 'x'.repeat(5000), __proto__x: '1' } })],
  ['every mesh text empty', record({ mesh: { ...mesh, mesh: '', platform: '', requestId: '' } })],
];
