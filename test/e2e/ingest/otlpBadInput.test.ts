import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog({ args: ['--max-body-bytes', '64KiB'], env: { MESHLOG_INGEST_MAX_DECOMPRESSED_BYTES: '1MiB' } });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

async function expectRefused(response: Response, status: number, reason: RegExp): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(text, reason);
}

const valid = (label: string) => otlpJsonRequest('bad-input-test', [`valid ${label}`]);

test('bad requests get the right status and reason, and valid ones beside them are stored', async () => {
  const { url, token } = meshlog;
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    [
      'malformed protobuf',
      () => postOtlpJson(url, token, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' }),
      400,
      /ExportLogsServiceRequest/,
    ],
    ['invalid JSON', () => postOtlpJson(url, token, '{"resourceLogs": [', {}), 400, /invalid JSON/],
    ['JSON of the wrong shape', () => postOtlpJson(url, token, '{"resourceLogs": 7}', {}), 400, /resourceLogs must be an array/],
    ['wrong content type', () => postOtlpJson(url, token, 'hello', { 'content-type': 'text/plain' }), 415, /text\/plain/],
    ['oversized body', () => postOtlpJson(url, token, 'x'.repeat(70 * 1024), {}), 413, /too large/],
    [
      'gzip bomb',
      () => postOtlpJson(url, token, gzipSync(Buffer.alloc(4 * 1024 * 1024, 32)), { 'content-encoding': 'gzip' }),
      413,
      /decompression/,
    ],
    ['not really gzip', () => postOtlpJson(url, token, valid('x'), { 'content-encoding': 'gzip' }), 400, /could not be decompressed/],
    ['unknown encoding', () => postOtlpJson(url, token, valid('x'), { 'content-encoding': 'lz4' }), 415, /lz4/],
    ['bad tenant header', () => postOtlpJson(url, token, valid('x'), { 'x-scope-orgid': 'acme|other' }), 400, /X-Scope-OrgID/],
    [
      'missing token',
      () => fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: valid('x') }),
      401,
      /missing credentials/,
    ],
    ['wrong token', () => postOtlpJson(url, 'not-the-token', valid('x')), 401, /invalid credentials/],
    ['unsupported scheme', () => postOtlpJson(url, token, valid('x'), { authorization: 'Token abc' }), 401, /unsupported scheme/],
  ];
  for (const [name, send, status, reason] of cases) {
    // A valid request in flight beside every bad one must still be committed.
    const [bad, good] = await Promise.all([send(), postOtlpJson(url, token, valid(name))]);
    await expectRefused(bad, status, reason).catch((error: Error) => {
      throw new Error(`${name}: ${error.message}`);
    });
    assert.equal(good.status, 200, `${name}: the valid request beside it`);
    await good.arrayBuffer();
  }

  const protobufError = await postOtlpJson(url, token, new Uint8Array([0xff]), { 'content-type': 'application/x-protobuf' });
  assert.equal(protobufError.status, 400);
  assert.equal(
    protobufError.headers.get('content-type'),
    'application/x-protobuf',
    'OTLP errors are a google.rpc.Status in the request encoding',
  );

  const ready = await fetch(`${url}/ready`);
  assert.equal(ready.status, 200, 'the server is still up');

  assert.equal(await meshlog.stop(), 0);
  const rows = await readCommitted<{ body: string }>(meshlog.dataDir, `SELECT body FROM meshlog.logs ORDER BY body`);
  assert.deepEqual(
    rows.map((row) => row.body),
    cases.map(([name]) => `valid ${name}`).sort(),
  );
});

test('records with malformed ids are rejected through partial success, the others stored', async () => {
  const second = await startMeshlog();
  try {
    const body = JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { body: { stringValue: 'good' }, traceId: '5b8efff798038103d269b633813fc60c' },
                { body: { stringValue: 'bad trace' }, traceId: 'abc' },
                { body: { stringValue: 'bad span' }, spanId: 'zzzzzzzzzzzzzzzz' },
              ],
            },
          ],
        },
      ],
    });
    const response = await postOtlpJson(second.url, second.token, body);
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedLogRecords, '2');
    assert.match(answer.partialSuccess.errorMessage, /trace_id/);
  } finally {
    assert.equal(await second.stop(), 0);
  }
  const rows = await readCommitted<{ body: string }>(second.dataDir, `SELECT body FROM meshlog.logs`);
  assert.deepEqual(
    rows.map((row) => row.body),
    ['good'],
  );
});
