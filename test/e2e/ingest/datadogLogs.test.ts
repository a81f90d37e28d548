import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { client, v2 } from '@datadog/datadog-api-client';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

/** Datadog's official API client, pointed at meshlog instead of a Datadog site. */
function logsApi(apiKey: string): v2.LogsApi {
  const configuration = client.createConfiguration({
    authMethods: { apiKeyAuth: apiKey },
    baseServer: new client.BaseServerConfiguration(meshlog.url, {}),
  });
  return new v2.LogsApi(configuration);
}

async function intake(body: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(`${meshlog.url}/api/v2/logs`, {
    method: 'POST',
    headers: { 'DD-API-KEY': meshlog.token, 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : Uint8Array.from(body),
  });
  return { status: response.status, body: await response.text() };
}

test('Datadog logs intake through @datadog/datadog-api-client (gzip, deflate), Agent payloads, bad input and keys', async () => {
  const api = logsApi(meshlog.token);
  const accepted = await api.submitLog({
    contentEncoding: 'gzip',
    ddtags: 'env:prod',
    body: [
      {
        message: 'payment authorized',
        service: 'payments',
        hostname: 'i-0abc',
        ddsource: 'nodejs',
        ddtags: 'team:checkout,version:1.4.2,canary',
        additionalProperties: {
          status: 'warn',
          'dd.trace_id': '1311382069457315980',
          'dd.span_id': '4726303245298913540',
          order: { id: 42 },
        },
      },
      { message: 'deflated line', service: 'payments', additionalProperties: { status: 'error' } },
    ],
  });
  assert.deepEqual(accepted, {});
  assert.deepEqual(
    await logsApi(meshlog.token).submitLog({ contentEncoding: 'deflate', body: [{ message: 'through deflate', service: 'ledger' }] }),
    {},
  );

  await assert.rejects(
    logsApi('wrong-key').submitLog({ body: [{ message: 'must not be stored' }] }),
    (error: client.ApiException<v2.HTTPLogErrors>) => {
      assert.equal(error.code, 403);
      assert.equal(error.body.errors?.[0].title, 'Forbidden');
      return true;
    },
  );

  // The Agent's own payload shape (epoch-millisecond timestamp), gzip, one object rather than an array.
  const agent = await intake(
    gzipSync(
      JSON.stringify({
        message: 'agent line',
        status: 'info',
        timestamp: 1767323045678,
        hostname: 'node-3',
        service: 'nginx',
        ddsource: 'nginx',
        ddtags: 'kube_namespace:edge',
      }),
    ),
    { 'Content-Encoding': 'gzip' },
  );
  assert.deepEqual(agent, { status: 202, body: '{}' });
  const deflated = await intake(deflateSync('[{"message":"raw deflate","service":"ledger"}]'), { 'Content-Encoding': 'deflate' });
  assert.equal(deflated.status, 202);

  const mixed = await intake(
    JSON.stringify([{ message: 'kept beside bad ones', service: 'ledger' }, 'not an object', { message: 'bad time', timestamp: 'soon' }]),
    {},
  );
  assert.equal(mixed.status, 400);
  assert.match(
    JSON.parse(mixed.body).errors[0].detail,
    /2 logs refused, 1 accepted: log 1: a JSON object was expected; log 2: timestamp "soon"/,
  );
  const broken = await intake('[{"message":', {});
  assert.equal(broken.status, 400);
  assert.match(JSON.parse(broken.body).errors[0].detail, /invalid JSON/);
  assert.equal((await intake('[]', { 'DD-API-KEY': '' })).status, 401);

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs`,
  );
  assert.deepEqual(
    rows.map((row) => row.body).sort(),
    ['agent line', 'deflated line', 'kept beside bad ones', 'payment authorized', 'raw deflate', 'through deflate'].sort(),
  );
  assert.ok(rows.every((row) => row.receiver === 'datadog' && row.tenant === 'default'));
  const byBody = (body: string) => rows.find((row) => row.body === body)!;

  const authorized = byBody('payment authorized');
  assert.equal(authorized.service_name, 'payments');
  assert.equal(authorized.severity_text, 'warn');
  assert.equal(authorized.severity_number, 13);
  assert.deepEqual(authorized.resource_attributes, { 'service.name': 'payments', 'host.name': 'i-0abc' });
  assert.deepEqual(authorized.log_attributes, {
    ddsource: 'nodejs',
    'order.id': '42',
    env: 'prod',
    team: 'checkout',
    version: '1.4.2',
    canary: '',
    'meshlog.parse_status': 'no_format',
  });
  assert.equal(authorized.trace_id, '0000000000000000' + 1311382069457315980n.toString(16).padStart(16, '0'));
  assert.equal(authorized.span_id, 4726303245298913540n.toString(16).padStart(16, '0'));
  assert.equal(byBody('deflated line').severity_number, 17);

  const agentRow = byBody('agent line');
  assert.equal(agentRow.timestamp, '1767323045678000000');
  assert.equal(agentRow.service_name, 'nginx');
  assert.equal(agentRow.severity_number, 9);
  assert.equal(agentRow.resource_attributes['host.name'], 'node-3');
  assert.equal(agentRow.log_attributes.kube_namespace, 'edge');
});
