import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import pino from 'pino';
import type { DestinationStream, Options as PinoElasticOptions } from 'pino-elasticsearch';
import { pinoLoki } from 'pino-loki';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * Issue 19: the Node shipper libraries users run, each configured as its own
 * README says (only the address and the key changed), against a real meshlog,
 * read back through the Loki query API with an analyst key of the tenant.
 */

// RFC 3164 times carry no zone: glossy (winston-syslog) writes local time, meshlog reads UTC (docs/shippers.md).
// Set before anything reads the clock's zone, so the test does not depend on the machine's.
process.env.TZ = 'UTC';

const require = createRequire(import.meta.url);
// pino-elasticsearch's types declare an ES default export for a CommonJS module.
const pinoElastic = require('pino-elasticsearch') as (options: PinoElasticOptions) => DestinationStream;
// Untyped CommonJS transports.
type TransportClass = new (options: Record<string, unknown>) => TransportStream;
require('winston-syslog');
const Syslog = (winston.transports as unknown as { Syslog: TransportClass }).Syslog;
const SplunkStreamEvent = require('winston-splunk-httplogger') as TransportClass;
const DatadogWinston = require('datadog-winston') as TransportClass;

let meshlog: RunningMeshlog;
const keys = { ingester: '', analyst: '', defaultAnalyst: '', globexAnalyst: '' };

async function createKey(name: string, roles: string[], tenants: string[]): Promise<string> {
  const created = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, roles, tenants }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  return ((await created.json()) as { key: string }).key;
}

before(async () => {
  meshlog = await startMeshlog();
  keys.ingester = await createKey('acme shipper', ['ingester'], ['acme']);
  keys.analyst = await createKey('acme analyst', ['analyst'], ['acme']);
  keys.defaultAnalyst = await createKey('default analyst', ['analyst'], ['default']);
  keys.globexAnalyst = await createKey('globex analyst', ['analyst'], ['globex']);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

interface Stream {
  stream: Record<string, string>;
  values: [string, string][];
}
interface Entry {
  labels: Record<string, string>;
  nanos: string;
  line: string;
}

async function queryAs(key: string, tenant: string, query: string): Promise<{ status: number; entries: Entry[] }> {
  const end = BigInt(Date.now() + 60_000) * 1_000_000n;
  const search = new URLSearchParams({
    query,
    start: (end - 3_600_000_000_000n).toString(),
    end: end.toString(),
    limit: '1000',
    direction: 'forward',
  });
  const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?${search}`, {
    headers: { authorization: `Bearer ${key}`, 'x-scope-orgid': tenant },
  });
  const text = await response.text();
  if (response.status !== 200) return { status: response.status, entries: [] };
  const streams = (JSON.parse(text) as { data: { result: Stream[] } }).data.result;
  const entries = streams.flatMap((stream) => stream.values.map(([nanos, line]) => ({ labels: stream.stream, nanos, line })));
  return { status: 200, entries: entries.sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0)) };
}

/** What acme's analyst reads, once `count` entries are there. */
async function acmeReads(query: string, count: number, key = keys.analyst, tenant = 'acme'): Promise<Entry[]> {
  return waitFor(
    async () => {
      const { status, entries } = await queryAs(key, tenant, query);
      assert.equal(status, 200);
      return entries.length >= count ? entries : undefined;
    },
    { timeoutMs: 60_000, what: `${count} entries for ${query}` },
  );
}

/** The other tenant's analyst finds nothing, and the pushing key itself may not read. */
async function othersCannotRead(query: string, tenant = 'acme'): Promise<void> {
  assert.deepEqual(await queryAs(keys.globexAnalyst, 'globex', query), { status: 200, entries: [] });
  assert.equal((await queryAs(keys.globexAnalyst, tenant, query)).status, 403);
}

const nanosOfMillis = (millis: number) => (BigInt(millis) * 1_000_000n).toString();

test('pino-elasticsearch: bulk-indexed into meshlog with an API key, index names the service, pino levels and millisecond times kept', async () => {
  const insertErrors: Error[] = [];
  const streamToElastic = pinoElastic({
    index: 'payments-%{DATE}',
    node: meshlog.url,
    auth: { apiKey: keys.ingester },
    esVersion: 7,
    flushBytes: 1000,
  });
  streamToElastic.on('insertError', (error) => insertErrors.push(error));
  const inserted = new Promise<Record<string, unknown>>((resolve, reject) => {
    streamToElastic.on('insert', resolve);
    streamToElastic.on('error', reject);
  });
  const logger = pino({ level: 'info' }, streamToElastic);
  const before = Date.now();
  logger.error({ orderId: 42, card: { brand: 'visa' } }, 'card declined');
  logger.warn('retrying payment');
  logger.info('payment settled');
  streamToElastic.end();
  const stats = await inserted;
  assert.equal(stats.successful, 3, JSON.stringify(stats));
  assert.equal(stats.failed, 0);
  assert.deepEqual(insertErrors, []);

  const entries = await acmeReads('{service_name="payments"}', 3);
  assert.equal(entries.length, 3, JSON.stringify(entries));
  const declined = entries.find((entry) => entry.line.includes('card declined'))!;
  assert.ok(declined, JSON.stringify(entries));
  assert.equal(declined.labels.detected_level, 'error');
  assert.ok(
    BigInt(declined.nanos) % 1_000_000n === 0n && BigInt(declined.nanos) >= BigInt(nanosOfMillis(before)),
    `pino's millisecond time: ${declined.nanos}`,
  );
  const json = await acmeReads('{service_name="payments"} | json | orderId="42" | card_brand="visa"', 1);
  assert.equal(json.length, 1);
  assert.deepEqual(
    (await acmeReads('{service_name="payments", detected_level="warn"}', 1)).map((entry) => entry.line.includes('retrying payment')),
    [true],
  );
  await othersCannotRead('{service_name="payments"}');
});

test('pino-elasticsearch: a wrong key and an analyst key are refused, the stream reports it and nothing is stored', async () => {
  for (const [apiKey, status] of [
    ['mlk_not-a-real-key', 401],
    [keys.analyst, 403],
  ] as const) {
    const streamToElastic = pinoElastic({ index: 'intruder', node: meshlog.url, auth: { apiKey }, esVersion: 7, flushBytes: 1000 });
    const failure = new Promise<unknown>((resolve) => {
      streamToElastic.on('error', resolve);
      streamToElastic.on('insertError', resolve);
      streamToElastic.on('insert', (stats) => resolve(new Error(`reported success: ${JSON.stringify(stats)}`)));
    });
    pino(streamToElastic).error('must not be stored');
    streamToElastic.end();
    const reported = (await failure) as { meta?: { statusCode?: number }; message: string };
    assert.equal(reported.meta?.statusCode, status, reported.message);
  }
  assert.deepEqual(await queryAs(keys.analyst, 'acme', '{service_name=~".+"} |= "must not be stored"'), { status: 200, entries: [] });
});

test('pino-loki: pushed with basic auth, labels name the service (unknown_service without), level label, meta as structured metadata', async () => {
  const consoleErrors: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => consoleErrors.push(args);
  try {
    const named = pinoLoki({
      host: meshlog.url,
      basicAuth: { username: 'acme', password: keys.ingester },
      labels: { application: 'inventory' },
      batching: false,
    });
    const logger = pino(named);
    logger.warn({ sku: 'A-1', meta: { traceId: 'abc123' } }, 'stock low');
    logger.info('stock counted');
    const anonymous = pinoLoki({ host: meshlog.url, basicAuth: { username: 'acme', password: keys.ingester }, batching: false });
    pino(anonymous).error('who sent this');
    const entries = await acmeReads('{service_name="inventory"}', 2);
    assert.equal(entries.length, 2, JSON.stringify(entries));
    const low = entries.find((entry) => entry.line.includes('stock low'))!;
    assert.equal(low.labels.level, 'warning');
    assert.equal(low.labels.detected_level, 'warn');
    assert.equal(low.labels.application, 'inventory');
    assert.ok(BigInt(low.nanos) % 1_000_000n === 0n, `pino's millisecond time: ${low.nanos}`);
    assert.equal(JSON.parse(low.line).time, Number(BigInt(low.nanos) / 1_000_000n));
    assert.equal((await acmeReads('{service_name="inventory"} | traceId="abc123" | json | sku="A-1"', 1)).length, 1);
    const unnamed = await acmeReads('{service_name="unknown_service"} |= "who sent this"', 1);
    assert.equal(unnamed[0].labels.detected_level, 'error');
    await othersCannotRead('{service_name="inventory"}');
    assert.deepEqual(consoleErrors, []);

    // A wrong key, and a key that may only read: Loki's refusals, which pino-loki prints.
    for (const [password, status] of [
      ['mlk_not-a-real-key', 'invalid credentials'],
      [keys.analyst, 'ingest needs one of the roles'],
    ] as const) {
      consoleErrors.length = 0;
      pino(
        pinoLoki({ host: meshlog.url, basicAuth: { username: 'acme', password }, labels: { application: 'intruder' }, batching: false }),
      ).error('must not be stored');
      await waitFor(() => consoleErrors.length > 0, { timeoutMs: 30_000, what: 'pino-loki reporting the refusal' });
      assert.match(String(consoleErrors[0][0]), new RegExp(`^Got error when trying to send log to loki\n.*${status}`, 'is'));
    }
    assert.deepEqual(await queryAs(keys.analyst, 'acme', '{service_name="intruder"}'), { status: 200, entries: [] });
  } finally {
    console.error = consoleError;
  }
});

/** A winston logger on syslog levels, as winston-syslog's README says, and its transport's errors. */
function syslogLogger(options: Record<string, unknown>): { logger: winston.Logger; errors: Error[]; close: () => Promise<void> } {
  const errors: Error[] = [];
  const transport = new Syslog(options);
  transport.on('error', (error: Error) => errors.push(error));
  // Its close() frees the socket once nothing is in flight (the logger's own close does not call it); over TCP
  // its socket's 'close' handler reconnects even then, forever (winston-syslog 2.7.1), so that handler goes first.
  const close = () =>
    new Promise<void>((resolve) => {
      (transport as unknown as { socket?: NodeJS.EventEmitter }).socket?.removeAllListeners('close');
      transport.once('closed', () => resolve());
      transport.close!();
    });
  return { logger: winston.createLogger({ levels: winston.config.syslog.levels, transports: [transport] }), errors, close };
}

for (const protocol of ['tcp4', 'udp4'] as const) {
  for (const type of ['RFC3164', 'RFC5424'] as const) {
    test(`winston-syslog ${protocol} ${type} with its defaults: app_name is the service, severity the level, winston's JSON reachable with | json`, async () => {
      const listener = meshlog.listeners[protocol === 'tcp4' ? 'syslog_tcp' : 'syslog_udp'];
      const app = `billing-${protocol}-${type.toLowerCase()}`;
      const { logger, errors, close } = syslogLogger({
        host: '127.0.0.1',
        port: Number(listener.split(':').pop()),
        protocol,
        type,
        app_name: app,
        localhost: 'web-1',
      });
      const sent = Date.now();
      logger.warning('low balance', { account: 7 });
      logger.error('charge failed');
      logger.notice('invoice mailed');
      const entries = await acmeReads(`{service_name="${app}"}`, 3, keys.defaultAnalyst, 'default');
      await close();
      assert.deepEqual(errors, []);
      entries.sort((a, b) => JSON.parse(a.line).message.localeCompare(JSON.parse(b.line).message));
      assert.deepEqual(
        entries.map((entry) => [JSON.parse(entry.line).message, entry.labels.detected_level, entry.labels.syslog_severity]),
        [
          ['charge failed', 'error', 'err'],
          ['invoice mailed', 'info', 'notice'],
          ['low balance', 'warn', 'warning'],
        ],
      );
      // RFC 3164 carries whole seconds of the sender's clock, RFC 5424 fractions of a second as written (glossy
      // writes milliseconds with two digits when below 100, `.07` for 7 ms: read as RFC 5424 says, 70 ms).
      const unit = type === 'RFC3164' ? 1_000_000_000n : 1_000_000n;
      for (const entry of entries) {
        const nanos = BigInt(entry.nanos);
        assert.ok(
          nanos % unit === 0n &&
            nanos >= BigInt(Math.floor(sent / 1_000)) * 1_000_000_000n &&
            nanos < BigInt(Date.now() + 1_000) * 1_000_000n,
          `${type} time ${entry.nanos}`,
        );
      }
      assert.equal((await acmeReads(`{service_name="${app}"} | json | account="7"`, 1, keys.defaultAnalyst, 'default')).length, 1);
      await othersCannotRead(`{service_name="${app}"}`, 'default');
    });
  }
}

test('winston-splunk-httplogger: HEC events with the Splunk token, source names the service, severity the level, seconds.millis time', async () => {
  const errors: Error[] = [];
  const transport = new SplunkStreamEvent({
    splunk: { token: keys.ingester, url: `${meshlog.url}`, source: 'shipping-api', sourcetype: '_json' },
  });
  transport.on('error', (error: Error) => errors.push(error));
  const logger = winston.createLogger({ transports: [transport] });
  const logged = new Promise((resolve) => transport.on('logged', resolve));
  const sent = Date.now();
  logger.error('label printer offline', { printer: 'p-7' });
  await logged;
  logger.info('parcel shipped');
  const entries = await acmeReads('{service_name="shipping-api"}', 2);
  assert.deepEqual(errors, []);
  const offline = entries.find((entry) => entry.line.includes('label printer offline'))!;
  assert.ok(offline, JSON.stringify(entries));
  assert.equal(offline.labels.detected_level, 'error');
  const millis = Number(BigInt(offline.nanos) / 1_000_000n);
  assert.ok(BigInt(offline.nanos) % 1_000_000n === 0n && millis >= sent && millis <= Date.now(), `HEC time ${offline.nanos}`);
  assert.equal((await acmeReads('{service_name="shipping-api"} | json | meta_printer="p-7"', 1)).length, 1);
  await othersCannotRead('{service_name="shipping-api"}');

  // HEC's refusals, reported through splunk-logging's `error` callback (winston-splunk-httplogger's `server`).
  for (const [token, code, text] of [
    ['mlk_not-a-real-key', 4, /^Invalid token$/],
    [keys.analyst, 1, /^Token disabled: .*ingest needs one of the roles/],
  ] as const) {
    const intruder = new SplunkStreamEvent({ splunk: { token, url: meshlog.url, source: 'intruder' } }) as TransportStream & {
      server: { error: (error: Error & { code?: number }) => void };
    };
    const reported = new Promise<Error & { code?: number }>((resolve) => (intruder.server.error = resolve));
    winston.createLogger({ transports: [intruder] }).error('must not be stored');
    const error = await reported;
    assert.equal(error.code, code, error.message);
    assert.match(error.message, text);
  }
  assert.deepEqual(await queryAs(keys.analyst, 'acme', '{service_name="intruder"}'), { status: 200, entries: [] });
});

test('datadog-winston: v1 intake with the key in the path, service and ddsource as sent, level and attributes kept', async () => {
  // datadog-winston has no option for the intake address (its README lists none): its `api` property is the URL it posts to.
  const transport = new DatadogWinston({
    apiKey: keys.ingester,
    hostname: 'my_machine',
    service: 'super_service',
    ddsource: 'nodejs',
    ddtags: 'foo:bar,boo:baz',
  }) as TransportStream & { api: string };
  assert.match(transport.api, /^https:\/\/http-intake\.logs\.datadoghq\.com\/v1\/input\//);
  transport.api = transport.api.replace('https://http-intake.logs.datadoghq.com', meshlog.url);
  const logger = winston.createLogger({ transports: [transport] });
  const sent = Date.now();
  logger.error('quota exceeded', { customer: 'c-9' });
  logger.info('quota checked');
  const entries = await acmeReads('{service_name="super_service"}', 2);
  const quota = entries.find((entry) => entry.line.includes('quota exceeded'))!;
  assert.ok(quota, JSON.stringify(entries));
  assert.equal(quota.labels.detected_level, 'error');
  assert.ok(Number(BigInt(quota.nanos) / 1_000_000n) >= sent - 1_000, `receipt time ${quota.nanos}`);
  assert.equal(
    (
      await acmeReads(
        '{service_name="super_service"} |= "quota exceeded" | source="nodejs" | foo="bar" | host="my_machine" | json | customer="c-9"',
        1,
      )
    ).length,
    1,
  );
  await othersCannotRead('{service_name="super_service"}');
});

test('datadog-winston: a wrong key and an analyst key in the path are refused and nothing is stored (datadog-winston never reports a response)', async () => {
  for (const apiKey of ['mlk_not-a-real-key', keys.analyst]) {
    const transport = new DatadogWinston({ apiKey, service: 'intruder', ddsource: 'nodejs' }) as TransportStream & { api: string };
    transport.api = transport.api.replace('https://http-intake.logs.datadoghq.com', meshlog.url);
    // The refusal as Datadog words it, on the very URL the transport posts to.
    const answer = await fetch(`${transport.api}?service=intruder`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"must not be stored"}',
    });
    assert.equal(answer.status, 403);
    assert.equal(((await answer.json()) as { errors: { title: string }[] }).errors[0].title, 'Forbidden');
    const logged = new Promise((resolve) => transport.on('logged', resolve));
    const logger = winston.createLogger({ transports: [transport] });
    logger.error('must not be stored');
    await logged;
    // Its log() resolves after the request either way: the end of the stream waits for it.
    await new Promise((resolve) => {
      logger.on('finish', resolve);
      logger.end();
    });
  }
  assert.deepEqual(await queryAs(keys.analyst, 'acme', '{service_name="intruder"}'), { status: 200, entries: [] });
});
