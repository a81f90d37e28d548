import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileEnvoyFormat } from '../../../src/pipeline/parse/envoyFormat.js';
import { detectAndParse } from '../../../src/pipeline/parse/detectFormat.js';

const tracedFormat =
  '[%START_TIME%] %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %GRPC_STATUS% %DURATION%ms trace=%TRACE_ID% tp="%REQ(TRACEPARENT)%" b3="%REQ(B3)%" rid=%REQ(X-REQUEST-ID)% ua="%REQ(USER-AGENT):40%" peer=%DOWNSTREAM_REMOTE_ADDRESS% %CUSTOM_THING%\n';

test('a user-supplied Envoy format compiles into a parser: headers, gRPC status, trace id, length suffix, unknown commands', () => {
  const parse = compileEnvoyFormat(tracedFormat, 'edge', 'envoy');
  const line =
    '[2025-01-02T03:04:05.678Z] POST /cart.v1.Cart/Add 200 Unavailable 17ms trace=4bf92f3577b34da6a3ce929d0e0e4736 tp="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" b3="-" rid=7d1c3b2a-0f9e-9d8c-b7a6-958473625140 ua="grpc-node-js/1.10.0" peer=[2001:db8::9]:41000 x42';
  assert.deepEqual(parse(line), {
    format: 'edge',
    mesh: 'envoy',
    time: '2025-01-02T03:04:05.678Z',
    level: '',
    message: undefined,
    attributes: {
      'http.request.method': 'POST',
      'url.path': '/cart.v1.Cart/Add',
      'http.response.status_code': '200',
      'rpc.grpc.status_code': '14',
      'mesh.duration_ms': '17',
      'mesh.trace_id': '4bf92f3577b34da6a3ce929d0e0e4736',
      'http.request.header.traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'http.request.header.x-request-id': '7d1c3b2a-0f9e-9d8c-b7a6-958473625140',
      'user_agent.original': 'grpc-node-js/1.10.0',
      'client.address': '2001:db8::9',
      'client.port': '41000',
      'mesh.envoy.custom_thing': 'x42',
    },
  });
  assert.equal(parse('[2025-01-02T03:04:05.678Z] POST /x 200'), undefined, 'a shorter line is not this format');
});

test('START_TIME with a strftime argument, and a format that starts with a command', () => {
  const parse = compileEnvoyFormat('%START_TIME(%s.%3f)% %UPSTREAM_CLUSTER% %RESPONSE_FLAGS%', 'epoch', 'consul');
  assert.deepEqual(parse('1735787045.678 backend.default.dc1.internal.abc.consul UH')?.attributes, {
    'mesh.upstream.cluster': 'backend.default.dc1.internal.abc.consul',
    'mesh.response_flags': 'UH',
  });
  assert.equal(parse('1735787045.678 backend.default.dc1.internal.abc.consul UH')?.time, '1735787045.678');
});

test('formats that cannot be parsed back are refused at compile time', () => {
  assert.throws(() => compileEnvoyFormat('%DURATION%%BYTES_SENT%', 'glued', 'envoy'), /two fields without a separator/);
  assert.throws(() => compileEnvoyFormat('no commands here', 'plain', 'envoy'), /no %COMMAND%/);
});

test('custom formats are tried before the built-in ones', () => {
  const custom = compileEnvoyFormat('%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%', 'short', 'envoy');
  assert.equal(detectAndParse('GET /ok 200', [custom])?.format, 'short');
  assert.equal(detectAndParse('GET /ok 200', []), undefined);
});
