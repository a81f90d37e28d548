import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { scrubText, scrubUrl, scrubValue } from '../../../src/observability/credentialScrubber.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readAuditTrail, readCommitted } from '../../support/storageReader.js';

let meshlog: RunningMeshlog;
before(async () => {
  // debug: the refused requests' log lines (with their URLs) are written too.
  meshlog = await startMeshlog({ args: ['--log-level', 'debug'] });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

/** A raw HTTP request: the request target is sent exactly as given (absolute-form URLs with userinfo included). */
function request(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const url = new URL(meshlog.url);
  return new Promise((resolve, reject) => {
    const sent = http.request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode!, text, headers: response.headers }));
      },
    );
    sent.on('error', reject);
    sent.end(options.body);
  });
}

const admin = () => ({ Authorization: `Bearer ${meshlog.token}` });

test('a Datadog key in the URL never reaches the audit trail, the log or the 404 body', async () => {
  // Datadog API keys are 32 hex characters; meshlog keys mlk_<id>_<43 chars>; the rest are whatever a client sends.
  const datadogKey = randomBytes(16).toString('hex');
  const meshlogKeySecret = randomBytes(32).toString('base64url');
  const meshlogKey = `mlk_${randomBytes(6).toString('hex')}_${meshlogKeySecret}`;
  const other = `s3cr3t${randomBytes(12).toString('hex')}`;
  const secrets = [datadogKey, meshlogKeySecret, other];

  const answers = [
    // Datadog's v1 intake: the key is a path segment that authenticates (an unknown one: 403 as Datadog answers;
    // with a valid Authorization header beside it, the header wins and the log is taken).
    await request(`/v1/input/${datadogKey}?ddsource=nginx`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    }),
    await request(`/v1/input/${datadogKey}`, { method: 'POST', body: '{}', headers: { ...admin(), 'content-type': 'application/json' } }),
    // Query parameters, as Datadog, Splunk and many shippers allow.
    await request(`/api/v2/logs?api_key=${datadogKey}`, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } }),
    await request(`/api/v2/logs?dd-api-key=${datadogKey}&ddsource=x`, {
      method: 'POST',
      body: '[]',
      headers: { 'content-type': 'application/json' },
    }),
    await request(`/services/collector/event?token=${other}`, { method: 'POST', body: '{"event":"x"}' }),
    await request(`/no/such/route?token=${other}&access_token=${other}`, { headers: admin() }),
    await request(`/no/such/route?api%5Fkey=${other}`, { headers: admin() }),
    await request(`/v1/input/${meshlogKey}`, { headers: admin() }),
    // Reads are audited with their URL: a token in a query read's URL.
    await request(`/loki/api/v1/labels?token=${other}&access_token=${datadogKey}`, { headers: admin() }),
    await request(`/api/v1/audit?since=1h&api_key=${other}`, { headers: admin() }),
    // userinfo in an absolute-form request target.
    await request(`http://shipper:${other}@${new URL(meshlog.url).host}/no/such/route`, { headers: admin() }),
    // Credentials in headers and in a login body: wrong ones, refused.
    await request('/loki/api/v1/labels', { headers: { Authorization: `Bearer ${meshlogKey}` } }),
    // Datadog's intake answers a wrong DD-API-KEY 403, as Datadog does.
    await request('/api/v2/logs', {
      method: 'POST',
      body: '[]',
      headers: { 'DD-API-KEY': datadogKey, 'content-type': 'application/json' },
    }),
    await request('/loki/api/v1/labels', { headers: { Authorization: `Basic ${Buffer.from(`user:${other}`).toString('base64')}` } }),
    await request('/api/v1/session', {
      method: 'POST',
      body: JSON.stringify({ token: meshlogKey }),
      headers: { 'content-type': 'application/json' },
    }),
  ];
  assert.deepEqual(
    answers.map((answer) => answer.status),
    [403, 200, 401, 401, 401, 404, 404, 404, 200, 200, 404, 401, 403, 401, 401],
  );
  // GET has no v1 intake route: the 404 body echoes the path, the key in it scrubbed.
  assert.match(answers[7]!.text, /no route GET \/v1\/input\/\[redacted\]/, 'the 404 still says which route was missing');

  // Through the API: the attempts are in the trail, scrubbed.
  const audit = await request('/api/v1/audit?since=1h&limit=10000', { headers: admin() });
  assert.equal(audit.status, 200);
  assert.match(audit.text, /\/v1\/input\/\[redacted\]/);
  assert.match(audit.text, /token=\[redacted\]/);
  assert.match(audit.text, new RegExp(`key:${meshlogKey.slice(4, 16)}`), 'the key id of a refused login stays: whose key was tried');

  assert.equal(await meshlog.stop(), 0);
  const storedAudit = JSON.stringify(await readAuditTrail(meshlog.dataDir, 'SELECT * FROM meshlog.logs'));
  assert.match(storedAudit, /auth\.failure/, 'the failures were audited');
  assert.match(storedAudit, /\/v1\/input\/\[redacted\]/);
  const stored = storedAudit + JSON.stringify(await readCommitted(meshlog.dataDir, 'SELECT * FROM meshlog.logs'));
  const everywhere = {
    'response bodies': answers.map((answer) => answer.text + JSON.stringify(answer.headers)).join('\n'),
    'audit API': audit.text,
    'stored rows': stored,
    'server log': meshlog.output(),
  };
  for (const [where, text] of Object.entries(everywhere)) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} found in the ${where}`);
  }
  assert.match(meshlog.output(), /\/v1\/input\/\[redacted\]/, 'the refused requests were logged, scrubbed');
});

test('the scrubber leaves no credential of any shape in a URL or a text, and keeps what is not one', () => {
  const secret = fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/);
  const name = fc.constantFrom(
    'api_key',
    'apikey',
    'dd-api-key',
    'DD_API_KEY',
    'token',
    'access_token',
    'Authorization',
    'password',
    'client_secret',
    'x-api-key',
    'api%5Fkey',
  );
  fc.assert(
    fc.property(secret, name, fc.constantFrom('?', '&x=1&'), (value, parameter, joiner) => {
      const url = `/any/path${joiner}${parameter}=${value}&other=1`;
      assert.ok(!scrubUrl(url).includes(value), url);
      assert.ok(!scrubText(`GET ${url}`).includes(value), url);
      assert.ok(!scrubText(`{"${parameter}":"${value}"}`).includes(value));
      assert.ok(!scrubText(`https://user:${value}@host/`).includes(value));
      assert.ok(!scrubText(`/v1/input/${value}`).includes(value));
      assert.ok(!scrubText(`Bearer ${value}`).includes(value));
      assert.ok(!JSON.stringify(scrubValue({ [parameter]: value, nested: { url: `/x?${parameter}=${value}` } })).includes(value));
    }),
    { numRuns: 500 },
  );
  // What is not a credential is left alone.
  for (const text of [
    'GET /loki/api/v1/query_range?query=%7Bapp%3D%22x%22%7D&limit=5',
    'key 0123456789ab was revoked',
    'missing credentials: send Authorization: Bearer <token>',
    'key:0123456789ab',
    'shared_key mismatch',
  ]) {
    assert.equal(scrubText(text), text);
  }
});
