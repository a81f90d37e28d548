import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, errors } from '@elastic/elasticsearch';
import winston from 'winston';
import Transport from 'winston-transport';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';

/**
 * Issue 19: the Elasticsearch single-document APIs the clients' index() and
 * create() call (pino-elasticsearch, scripts), `_refresh`, and Datadog's v1
 * intake `/v1/input/<api key>` that datadog-winston posts to.
 */

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

interface Stream {
  stream: Record<string, string>;
  values: [string, string][];
}

async function logql(query: string): Promise<Stream[]> {
  const end = BigInt(Date.now() + 60_000) * 1_000_000n;
  const search = new URLSearchParams({
    query,
    start: (end - 3_600_000_000_000n).toString(),
    end: end.toString(),
    limit: '1000',
    direction: 'forward',
  });
  const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?${search}`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'default' },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return (JSON.parse(text) as { data: { result: Stream[] } }).data.result;
}
const lines = async (query: string) => (await logql(query)).flatMap((stream) => stream.values.map(([, line]) => line)).sort();

test('Elasticsearch index(), create() and indices.refresh() through the official client', async () => {
  const client = new Client({ node: meshlog.url, auth: { bearer: meshlog.token }, compression: true });
  const now = new Date().toISOString();

  // POST /<index>/_doc: Elasticsearch picks the id.
  const indexed = await client.index({
    index: 'orders',
    document: { '@timestamp': now, message: 'order placed', 'service.name': 'orders-api', 'log.level': 'info' },
    refresh: 'wait_for',
  });
  assert.equal(indexed._index, 'orders');
  assert.equal(indexed.result, 'created');
  assert.equal(indexed._version, 1);
  assert.match(indexed._id, /^[\w-]{8,}$/);
  assert.deepEqual(indexed._shards, { total: 1, successful: 1, failed: 0 });

  // PUT /<index>/_doc/<id> and PUT /<index>/_create/<id>: the sender's id.
  const withId = await client.index({
    index: 'orders',
    id: 'order-42',
    document: { '@timestamp': now, message: 'order 42 paid', 'service.name': 'orders-api', 'log.level': 'warn' },
  });
  assert.equal(withId._id, 'order-42');
  assert.equal(withId.result, 'created');
  const created = await client.create({
    index: 'orders',
    id: 'order-43',
    document: { '@timestamp': now, message: 'order 43 created', 'service.name': 'orders-api' },
  });
  assert.equal(created._id, 'order-43');
  assert.equal(created.result, 'created');

  // What pino-elasticsearch's documents look like: no message, no service, level a number.
  await client.index({
    index: 'pino-2026.11.25',
    document: { level: 50, time: Date.now(), msg: 'pino says payment failed', pid: 7, hostname: 'web-1' },
  });

  assert.deepEqual(await client.indices.refresh({ index: 'orders' }), { _shards: { total: 1, successful: 1, failed: 0 } });
  assert.deepEqual(await client.indices.refresh(), { _shards: { total: 1, successful: 1, failed: 0 } });

  // A document Elasticsearch would refuse: the error as Elasticsearch words it, with its status.
  await assert.rejects(client.index({ index: 'orders', document: { '@timestamp': 'not a date', message: 'bad' } }), (error: unknown) => {
    assert.ok(error instanceof errors.ResponseError);
    assert.equal(error.statusCode, 400);
    assert.equal((error.body as { error: { type: string } }).error.type, 'document_parsing_exception');
    return true;
  });
  // Not JSON at all, and no credential.
  const malformed = await fetch(`${meshlog.url}/orders/_doc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: '{"message": ',
  });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.headers.get('x-elastic-product'), 'Elasticsearch');
  assert.match(((await malformed.json()) as { error: { reason: string } }).error.reason, /failed to parse the document/);
  const anonymous = await fetch(`${meshlog.url}/orders/_doc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"message":"anonymous"}',
  });
  assert.equal(anonymous.status, 401);

  // A raw call shows the Location header Elasticsearch sends with a 201.
  const raw = await fetch(`${meshlog.url}/orders/_create/order-44`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'order 44 created', 'service.name': 'orders-api' }, null, 2),
  });
  assert.equal(raw.status, 201);
  assert.equal(raw.headers.get('location'), '/orders/_doc/order-44');

  assert.deepEqual(await lines('{service_name="orders-api"}'), ['order 42 paid', 'order 43 created', 'order 44 created', 'order placed']);
  assert.deepEqual(await lines('{service_name="orders-api", detected_level="warn"}'), ['order 42 paid']);
  const pino = await logql('{service_name="pino", detected_level="error"}');
  assert.equal(pino.length, 1, JSON.stringify(pino));
  assert.match(pino[0].values[0][1], /pino says payment failed/);
  assert.deepEqual(await lines('{service_name=~".+"} |= "anonymous"'), []);
});

/**
 * datadog-winston's transport as its source (lib/index.js) sends: one POST per
 * log to `/v1/input/<apiKey>?service=…&ddsource=…&ddtags=…&hostname=…`, the
 * winston info object as JSON. (datadog-winston itself is not a dependency.)
 */
class DatadogWinstonTransport extends Transport {
  readonly sent: Promise<Response>[] = [];
  constructor(
    private readonly api: string,
    private readonly query: Record<string, string>,
  ) {
    super();
  }
  override log(info: Record<string, unknown>, callback: () => void): void {
    const { ddtags: _ddtags, ...logs } = info;
    this.sent.push(
      fetch(`${this.api}?${new URLSearchParams(this.query)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(logs),
      }),
    );
    callback();
  }
}

test("Datadog v1 intake: winston through datadog-winston's request, the key in the path", async () => {
  const transport = new DatadogWinstonTransport(`${meshlog.url}/v1/input/${meshlog.token}`, {
    service: 'checkout-web',
    ddsource: 'nodejs',
    ddtags: 'env:prod,team:web',
    hostname: 'web-3',
  });
  const logger = winston.createLogger({ transports: [transport] });
  logger.error('card declined', { orderId: 42 });
  logger.info('cart viewed');
  const answers = await Promise.all(transport.sent);
  for (const answer of answers) {
    assert.equal(answer.status, 200, await answer.text());
  }

  // The DD-API-KEY header on /v1/input works too; a wrong key in the path is refused as Datadog refuses it.
  const header = await fetch(`${meshlog.url}/v1/input`, {
    method: 'POST',
    headers: { 'DD-API-KEY': meshlog.token, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'key in header', service: 'checkout-web' }),
  });
  assert.equal(header.status, 200);
  const wrong = await fetch(`${meshlog.url}/v1/input/not-the-key?service=intruder`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'must not be stored' }),
  });
  assert.equal(wrong.status, 403);
  assert.equal(((await wrong.json()) as { errors: { title: string }[] }).errors[0].title, 'Forbidden');
  const none = await fetch(`${meshlog.url}/v1/input?service=intruder`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'must not be stored either' }),
  });
  assert.equal(none.status, 401);

  assert.deepEqual(await lines('{service_name="checkout-web"}'), ['card declined', 'cart viewed', 'key in header']);
  const errorsOnly = await logql('{service_name="checkout-web", detected_level="error"}');
  assert.deepEqual(
    errorsOnly.flatMap((stream) => stream.values.map(([, line]) => line)),
    ['card declined'],
  );
  // The query parameters are Datadog's reserved tags, the log's own fields its attributes.
  const withFields = await logql(
    '{service_name="checkout-web"} |= "card declined" | env="prod" | host="web-3" | source="nodejs" | orderId="42"',
  );
  assert.equal(withFields.length, 1, JSON.stringify(withFields));
  assert.deepEqual(await lines('{service_name=~".+"} |= "must not be stored"'), []);
});

test('a Datadog key for tenant acme in the /v1/input path cannot write to tenant globex', async () => {
  const created = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'acme datadog', roles: ['ingester'], tenants: ['acme'] }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { key } = (await created.json()) as { key: string };
  const post = (tenant: string, message: string) =>
    fetch(`${meshlog.url}/v1/input/${key}?service=tenant-probe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
      body: JSON.stringify({ message }),
    });
  assert.equal((await post('globex', 'written into globex')).status, 403);
  assert.equal((await post('acme', 'written into acme')).status, 200);
  const read = async (tenant: string) => {
    const end = BigInt(Date.now() + 60_000) * 1_000_000n;
    const search = new URLSearchParams({
      query: '{service_name="tenant-probe"}',
      start: (end - 3_600_000_000_000n).toString(),
      end: end.toString(),
    });
    const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?${search}`, {
      headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
    });
    return ((await response.json()) as { data: { result: Stream[] } }).data.result.flatMap((stream) =>
      stream.values.map(([, line]) => line),
    );
  };
  assert.deepEqual(await read('globex'), []);
  assert.deepEqual(await read('acme'), ['written into acme']);
});

test('guessing Datadog keys in the /v1/input path is throttled like any presented credential', async () => {
  // Run last: it exhausts this address's allowance (20 failures by default; one was spent above).
  const statuses: number[] = [];
  for (let guess = 0; guess < 25; guess++) {
    const answer = await fetch(`${meshlog.url}/v1/input/guess-${guess}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"guess"}',
    });
    statuses.push(answer.status);
    if (answer.status === 429) assert.ok(answer.headers.get('retry-after'), 'Retry-After on 429');
  }
  assert.deepEqual(statuses.slice(0, 19), Array(19).fill(403));
  assert.deepEqual(statuses.slice(19), Array(6).fill(429));
  // Refused unchecked from now on, the right key included: guessing stops there.
  const right = await fetch(`${meshlog.url}/v1/input/${meshlog.token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"message":"after the guesses"}',
  });
  assert.equal(right.status, 429);
});
