import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { recentLines } from '../../support/lokiCall.js';
import { otlpJsonRequest } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

/**
 * A lone UTF-16 surrogate (JSON's `"\ud800"`, or CESU-8 bytes ED A0 80 in
 * msgpack) in a label, an attribute key or value, a service name: the
 * record is stored with U+FFFD in its place, as a UTF-8 decoder treats an
 * invalid byte. Before, ClickHouse refused the escape, so the request was
 * answered 503 forever (a shipper retries it for good), the group commit it
 * shared failed for every tenant in it, the answer quoted the neighbouring
 * rows (another tenant's lines) and the pattern flush lost every tenant's
 * templates.
 */

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog({ env: { MESHLOG_INGEST_BATCH_LINGER_MS: '50' } });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

function post(path: string, tenant: string, contentType: string, body: string): Promise<Response> {
  return fetch(`${meshlog.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant, 'content-type': contentType },
    body,
  });
}

function sendTcp(address: string, bytes: Buffer): Promise<void> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port) }, () => socket.end(bytes));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

const nowNs = () => String(BigInt(Date.now()) * 1_000_000n);
// The escape as JSON text spells it (a JS string literal would hold the surrogate itself).
const lone = String.raw`\ud800`;

test('lone surrogates in labels, attribute keys and values are stored as U+FFFD through every JSON receiver and forward; a neighbour tenant sharing the commit is stored; verify is clean', async () => {
  const neighbourLine = 'neighbour line sharing the group commit';
  const requests = [
    post(
      '/loki/api/v1/push',
      'surrogates',
      'application/json',
      `{"streams":[{"stream":{"app":"loki-${lone}"},"values":[["${nowNs()}","loki body ${lone}",{"k${lone}":"v${lone}"}]]}]}`,
    ),
    post(
      '/v1/logs',
      'surrogates',
      'application/json',
      `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otlp-${lone}"}}]},"scopeLogs":[{"scope":{"name":"s${lone}"},"logRecords":[{"timeUnixNano":"${nowNs()}","severityText":"INFO${lone}","body":{"stringValue":"otlp body"},"attributes":[{"key":"a${lone}","value":{"stringValue":"b${lone}"}}]}]}]}]}`,
    ),
    post(
      '/_bulk',
      'surrogates',
      'application/x-ndjson',
      `{"index":{"_index":"x"}}\n{"message":"bulk body","service":{"name":"bulk-${lone}"},"field${lone}":"value${lone}"}\n`,
    ),
    post('/api/v2/logs', 'surrogates', 'application/json', `[{"message":"datadog body","service":"dd-${lone}","tag${lone}":"x"}]`),
    post(
      '/services/collector/event',
      'surrogates',
      'application/json',
      `{"event":"hec body","source":"hec-${lone}","fields":{"f${lone}":"v"}}`,
    ),
    post('/v1/logs', 'neighbour', 'application/json', otlpJsonRequest('neighbour', [neighbourLine])),
  ];
  const answers = await Promise.all(requests);
  for (const answer of answers) {
    const text = await answer.text();
    assert.ok(answer.status >= 200 && answer.status < 300, `${answer.url}: ${answer.status} ${text.slice(0, 400)}`);
    assert.doesNotMatch(text, /neighbour line/, 'no answer quotes another request');
  }
  // msgpack: the JS encoder writes a lone surrogate as CESU-8 (ED A0 80), which msgpack's decoder turns back into one.
  const forward = Buffer.from(encode(['fwd.tag', Math.floor(Date.now() / 1000), { message: 'forward body', [`key\ud800`]: 'val\ud800' }]));
  assert.ok(forward.includes(Buffer.from([0xed, 0xa0, 0x80])), 'the message holds CESU-8 surrogate bytes');
  await sendTcp(meshlog.listeners.forward, forward);

  const lines = await recentLines(meshlog, 'neighbour', '{service_name=~".+"}');
  assert.deepEqual(lines, [neighbourLine]);
  // Through the query API too: the label value reads back with U+FFFD.
  const loki = await recentLines(meshlog, 'surrogates', '{app="loki-\uFFFD"}');
  assert.deepEqual(loki, ['loki body \uFFFD']);

  await meshlog.stop();
  const output = meshlog.output();
  assert.doesNotMatch(
    output,
    /CANNOT_PARSE_ESCAPE_SEQUENCE|could not store log patterns|batch commit failed/,
    'no insert or pattern flush failed',
  );
  // Forward without credentials lands in the default tenant; the HTTP requests named tenant surrogates.
  const stored = await readCommitted<{ service_name: string; body: string; attributes: string }>(
    meshlog.dataDir,
    `SELECT service_name, body, toJSONString(mapConcat(resource_attributes, log_attributes)) AS attributes FROM meshlog.logs WHERE tenant != 'neighbour' ORDER BY service_name`,
  );
  const services = stored.map((row) => row.service_name);
  for (const expected of ['loki-\uFFFD', 'otlp-\uFFFD', 'bulk-\uFFFD', 'dd-\uFFFD'])
    assert.ok(services.includes(expected), `${expected} in ${services}`);
  assert.equal(stored.length, 6, JSON.stringify(stored));
  const forwardRow = stored.find((row) => row.body === 'forward body');
  assert.ok(forwardRow, JSON.stringify(stored));
  assert.match(forwardRow.attributes, /"key\uFFFD":"val\uFFFD"/);
  for (const row of stored) assert.ok(JSON.stringify(row).isWellFormed() && !/\\ud8/.test(JSON.stringify(row)), JSON.stringify(row));

  const verified = spawnSync(process.execPath, [cli, 'verify', '--data-dir', meshlog.dataDir], { encoding: 'utf8' });
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
});
