import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, errors } from '@elastic/elasticsearch';
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

const ecsDocuments = [
  {
    '@timestamp': '2026-01-02T03:04:05.123456789Z',
    message: 'GET /cart 503',
    log: { level: 'ERROR', logger: 'http' },
    service: { name: 'cart', version: '1.2.0' },
    host: { name: 'node-7' },
    trace: { id: '5B8EFFF798038103D269B633813FC60C' },
    span: { id: 'eee19b7ec3c1b174' },
    http: { response: { status_code: 503 } },
    tags: ['edge', 'canary'],
  },
  { '@timestamp': 1767323046000, message: 'cart recovered', 'log.level': 'info', 'service.name': 'cart' },
  { log: 'a Fluent Bit record without message', stream: 'stdout' },
  { event: { action: 'login' }, user: { name: 'ada' } },
];

test('Elasticsearch _bulk through the official client bulk helper, handshake probes, per-item errors and auth', async () => {
  const client = new Client({
    node: meshlog.url,
    auth: { bearer: meshlog.token },
    compression: true,
    headers: { 'x-scope-orgid': 'acme' },
  });
  const info = await client.info();
  assert.equal(info.version.number.split('.')[0], '8');
  assert.equal(await client.ping(), true);
  assert.equal(await client.indices.existsIndexTemplate({ name: 'filebeat-8.19.0' }), true);
  assert.deepEqual(await client.indices.putIndexTemplate({ name: 'filebeat-8.19.0', index_patterns: ['filebeat-*'] }), {
    acknowledged: true,
  });
  assert.ok((await client.ilm.getLifecycle({ name: 'filebeat' })).filebeat);
  assert.equal((await client.license.get()).license.status, 'active');
  assert.equal((await client.cluster.health()).status, 'green');

  const dropped: { status: number; error: { type: string; reason: string } | null; document: unknown }[] = [];
  const stats = await client.helpers.bulk<Record<string, unknown>>({
    datasource: [...ecsDocuments, { '@timestamp': 'yesterday-ish', message: 'bad time' }],
    onDocument: () => ({ create: { _index: 'logs-cart' } }),
    onDrop: (item) =>
      dropped.push({ status: item.status, error: item.error as { type: string; reason: string } | null, document: item.document }),
    flushBytes: 1 << 20,
  });
  assert.equal(stats.total, 5);
  assert.equal(stats.successful, 4);
  assert.equal(stats.failed, 1);
  assert.equal(dropped.length, 1);
  assert.equal(dropped[0].status, 400);
  assert.equal(dropped[0].error?.type, 'document_parsing_exception');
  assert.match(dropped[0].error?.reason ?? '', /@timestamp "yesterday-ish" is not a date/);

  // update and delete are answered per item; the create beside them is stored.
  const mixed = await client.bulk({
    operations: [
      { delete: { _index: 'logs-cart', _id: 'a' } },
      { update: { _index: 'logs-cart', _id: 'b' } },
      { doc: { message: 'x' } },
      { index: { _index: 'logs-cart', _id: 'kept-1' } },
      { message: 'indexed beside an update', 'service.name': 'cart' },
    ],
  });
  assert.equal(mixed.errors, true);
  assert.deepEqual(
    mixed.items.map(
      (item) => Object.entries(item).map(([action, result]) => [action, result.status, result.error?.reason ?? result.result])[0],
    ),
    [
      ['delete', 400, 'meshlog is append-only: delete is not supported'],
      ['update', 400, 'meshlog is append-only: update is not supported'],
      ['index', 201, 'created'],
    ],
  );
  assert.equal(mixed.items[2].index?._id, 'kept-1');

  // ApiKey (base64 id:key, as Filebeat and Logstash send it) and Basic with any user name.
  const apiKeyClient = new Client({ node: meshlog.url, auth: { apiKey: { id: 'filebeat', api_key: meshlog.token } } });
  assert.equal((await apiKeyClient.info()).tagline, 'You Know, for Search');
  // The encoded form as the client's string option sends it: the key itself.
  const rawKeyClient = new Client({ node: meshlog.url, auth: { apiKey: meshlog.token } });
  assert.equal((await rawKeyClient.info()).tagline, 'You Know, for Search');
  const wrongClient = new Client({ node: meshlog.url, auth: { username: 'elastic', password: 'wrong-password' } });
  await assert.rejects(wrongClient.info(), (error: unknown) => {
    assert.ok(error instanceof errors.ResponseError);
    assert.equal(error.statusCode, 401);
    assert.equal((error.body as { error: { type: string } }).error.type, 'security_exception');
    return true;
  });

  // What Fluent Bit's es output sends and greps for, with basic auth.
  const basic = `Basic ${Buffer.from(`fluentbit:${meshlog.token}`).toString('base64')}`;
  const fluentBit = await fetch(`${meshlog.url}/fluent-bit/_bulk`, {
    method: 'POST',
    headers: { Authorization: basic, 'Content-Type': 'application/x-ndjson' },
    body: '{"create":{}}\n{"@timestamp":"2026-01-02T03:04:09.500Z","log":"fluent bit line","kubernetes":{"pod_name":"web-1"}}\n',
  });
  assert.equal(fluentBit.status, 200);
  assert.equal(fluentBit.headers.get('x-elastic-product'), 'Elasticsearch');
  const fluentBitText = await fluentBit.text();
  assert.ok(fluentBitText.includes('"errors":false,"items":['), fluentBitText);
  assert.match(
    fluentBitText,
    /^\{"took":\d+,"errors":false,"items":\[\{"create":\{"_index":"fluent-bit","_id":"[\w-]+","_version":1,"result":"created",/,
  );

  // Malformed source and a line that is no action: per-item errors, the good pair beside them stored.
  const broken = await fetch(`${meshlog.url}/_bulk`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/x-ndjson' },
    body: [
      '{"index":{"_index":"raw"}}',
      '{"message": "truncated',
      '"not an action"',
      '{"create":{"_index":"raw"}}',
      '{"message":"good raw line","@timestamp":"2026-01-02T03:04:10Z"}',
      '',
    ].join('\n'),
  });
  assert.equal(broken.status, 200);
  const brokenBody = (await broken.json()) as { errors: boolean; items: Record<string, { status: number; error?: { type: string } }>[] };
  assert.equal(brokenBody.errors, true);
  assert.deepEqual(
    brokenBody.items.map((item) => Object.values(item)[0].status),
    [400, 400, 201],
  );
  assert.equal(brokenBody.items[0].index.error?.type, 'document_parsing_exception');

  const empty = await fetch(`${meshlog.url}/_bulk`, { method: 'POST', headers: { Authorization: `Bearer ${meshlog.token}` }, body: '\n' });
  assert.equal(empty.status, 400);
  assert.equal(empty.headers.get('x-elastic-product'), 'Elasticsearch');
  assert.equal(((await empty.json()) as { status: number }).status, 400);

  await Promise.all([client.close(), apiKeyClient.close(), rawKeyClient.close(), wrongClient.close()]);
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs ORDER BY timestamp`,
  );
  const bodies = rows.map((row) => row.body).sort();
  assert.deepEqual(
    bodies,
    [
      'GET /cart 503',
      'cart recovered',
      'fluent bit line',
      'good raw line',
      'indexed beside an update',
      'a Fluent Bit record without message',
      JSON.stringify(ecsDocuments[3]),
    ].sort(),
  );
  assert.ok(rows.every((row) => row.receiver === 'elasticsearch'));

  const error = rows.find((row) => row.body === 'GET /cart 503')!;
  assert.equal(error.tenant, 'acme');
  assert.equal(error.timestamp, '1767323045123456789');
  assert.equal(error.severity_text, 'ERROR');
  assert.equal(error.severity_number, 17);
  assert.equal(error.service_name, 'cart');
  assert.deepEqual(error.resource_attributes, { 'service.name': 'cart', 'host.name': 'node-7' });
  assert.equal(error.trace_id, '5b8efff798038103d269b633813fc60c');
  assert.equal(error.span_id, 'eee19b7ec3c1b174');
  assert.deepEqual(error.log_attributes, {
    'elasticsearch.index': 'logs-cart',
    'log.logger': 'http',
    'service.version': '1.2.0',
    'http.response.status_code': '503',
    tags: '["edge","canary"]',
    'meshlog.parse_status': 'no_format',
  });

  const recovered = rows.find((row) => row.body === 'cart recovered')!;
  assert.equal(recovered.timestamp, '1767323046000000000');
  assert.equal(recovered.severity_number, 9);
  assert.equal(recovered.service_name, 'cart');

  const fluentBitRow = rows.find((row) => row.body === 'fluent bit line')!;
  assert.equal(fluentBitRow.tenant, 'default');
  assert.equal(fluentBitRow.timestamp, '1767323049500000000');
  assert.equal(fluentBitRow.log_attributes['kubernetes.pod_name'], 'web-1');
  assert.equal(fluentBitRow.log_attributes['elasticsearch.index'], 'fluent-bit');
  assert.equal(fluentBitRow.log_attributes.log, undefined);
  const structured = rows.find((row) => row.body.startsWith('{'))!;
  assert.equal(structured.log_attributes['event.action'], 'login');
});
