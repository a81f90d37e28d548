import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/** The parts of splunk-logging (Splunk's own Node.js HEC client, untyped) this test drives. */
interface SplunkLogger {
  requestOptions: { headers: Record<string, string> };
  error: (error: Error, context: unknown) => void;
  send: (context: { message: unknown; severity?: string; metadata?: Record<string, unknown> }, callback?: HecCallback) => void;
  flush: (callback: HecCallback) => void;
}
type HecCallback = (error: Error | null, response: { statusCode: number }, body: unknown) => void;
const { Logger } = createRequire(import.meta.url)('splunk-logging') as {
  Logger: new (config: { token: string; url: string; maxBatchCount?: number }) => SplunkLogger;
};

/** A committed row as the tests read it back. */
type StoredRow = StoredLogRow;

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

function flush(logger: SplunkLogger): Promise<{ status: number; body: unknown; error: Error | null }> {
  return new Promise((resolve) => logger.flush((error, response, body) => resolve({ status: response?.statusCode, body, error })));
}

async function hec(path: string, body: string | Buffer, headers: Record<string, string> = { Authorization: `Splunk ${meshlog.token}` }) {
  const response = await fetch(`${meshlog.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : Uint8Array.from(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('Splunk HEC: splunk-logging batches, raw lines, health, HEC error codes, good events kept beside bad ones', async () => {
  const logger = new Logger({ token: meshlog.token, url: meshlog.url, maxBatchCount: 0 });
  logger.requestOptions.headers['X-Scope-OrgID'] = 'acme';
  const metadata = { source: 'checkout', sourcetype: '_json', index: 'main', host: 'web-1' };
  logger.send({ message: 'order placed', severity: 'info', metadata: { ...metadata, time: new Date('2026-01-02T03:04:05.678Z') } });
  logger.send({ message: 'card declined', severity: 'error', metadata });
  logger.send({ message: { temperature: '70F', chickenCount: 500 }, metadata: { ...metadata, source: 'chicken coop' } });
  assert.deepEqual(await flush(logger), { status: 200, body: { text: 'Success', code: 0 }, error: null });

  const intruder = new Logger({ token: 'not-the-token', url: meshlog.url });
  const reported: Error[] = [];
  intruder.error = (error) => reported.push(error);
  intruder.send({ message: 'must not be stored' });
  const refused = await flush(intruder);
  assert.equal(refused.status, 403);
  assert.deepEqual(refused.body, { text: 'Invalid token', code: 4 });
  assert.equal(reported[0]?.message, 'Invalid token');

  assert.deepEqual(await hec('/services/collector/event', '{"event":"x"}', {}), {
    status: 401,
    body: { text: 'Token is required', code: 2 },
  });
  const health = await fetch(`${meshlog.url}/services/collector/health`);
  assert.deepEqual([health.status, await health.json()], [200, { text: 'HEC is healthy', code: 17 }]);
  assert.deepEqual(await hec('/services/collector', ''), { status: 400, body: { text: 'No data', code: 5 } });

  // Bodies as in Splunk's docs; a missing event field (event 1) is refused, the events around it kept.
  assert.deepEqual(
    await hec(
      '/services/collector',
      '{"event": "Hello, world!", "sourcetype": "manual", "time": "1767323047.5"}{"sourcetype": "manual"}\n' +
        '{"event": "with fields", "time": 1767323048, "fields": {"service": "payments", "severity": "error", "region": ["eu", "us"]}}',
    ),
    { status: 400, body: { text: 'Event field is required', code: 12, 'invalid-event-number': 1 } },
  );
  // Broken JSON stops the batch there; the event before it is kept.
  assert.deepEqual(
    await hec('/services/collector/event/1.0', gzipSync('{"event":"before the break","time":1767323049}{"event": "trunc'), {
      Authorization: `Splunk ${meshlog.token}`,
      'Content-Encoding': 'gzip',
    }),
    { status: 400, body: { text: 'Invalid data format', code: 6, 'invalid-event-number': 1 } },
  );
  // Indexer acknowledgement: with a channel, the answer carries an ackId, acknowledged once queried.
  const channel = { Authorization: `Splunk ${meshlog.token}`, 'X-Splunk-Request-Channel': 'FE0ECFAD-13D5-401B-847D-77833BD77131' };
  assert.deepEqual(await hec('/services/collector/raw?sourcetype=syslog&host=fw-1', 'raw line one\nraw line two\n', channel), {
    status: 200,
    body: { text: 'Success', code: 0, ackId: 0 },
  });
  assert.deepEqual(await hec('/services/collector/ack', '{"acks":[0,1]}', channel), {
    status: 200,
    body: { acks: { '0': true, '1': false } },
  });
  assert.deepEqual(await hec('/services/collector/ack', '{"acks":[0]}'), {
    status: 400,
    body: { text: 'Data channel is missing', code: 10 },
  });

  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<StoredRow>(
    meshlog.dataDir,
    `SELECT *, toString(toUnixTimestamp64Nano(timestamp)) AS timestamp FROM meshlog.logs ORDER BY timestamp, body`,
  );
  assert.deepEqual(
    rows.map((row) => row.body).sort(),
    [
      'Hello, world!',
      'before the break',
      'card declined',
      'order placed',
      'raw line one',
      'raw line two',
      'with fields',
      JSON.stringify({ temperature: '70F', chickenCount: 500 }),
    ].sort(),
  );
  assert.ok(rows.every((row) => row.receiver === 'splunk_hec'));
  const byBody = (body: string) => rows.find((row) => row.body === body)!;

  const placed = byBody('order placed');
  assert.equal(placed.tenant, 'acme');
  assert.equal(placed.timestamp, '1767323045678000000');
  assert.equal(placed.service_name, 'checkout');
  assert.equal(placed.severity_number, 9);
  assert.deepEqual(placed.resource_attributes, { 'host.name': 'web-1' });
  assert.deepEqual(placed.log_attributes, {
    severity: 'info',
    'splunk.source': 'checkout',
    'splunk.sourcetype': '_json',
    'splunk.index': 'main',
    'meshlog.parse_status': 'no_format',
  });
  const declined = byBody('card declined');
  assert.equal(declined.severity_number, 17);
  const coop = byBody(JSON.stringify({ temperature: '70F', chickenCount: 500 }));
  assert.equal(coop.service_name, 'chicken coop');
  assert.equal(coop.log_attributes.severity, 'info');

  const hello = byBody('Hello, world!');
  assert.equal(hello.tenant, 'default');
  assert.equal(hello.timestamp, '1767323047500000000');
  assert.equal(hello.service_name, 'manual');
  const withFields = byBody('with fields');
  assert.equal(withFields.timestamp, '1767323048000000000');
  assert.equal(withFields.service_name, 'payments');
  assert.equal(withFields.severity_number, 17);
  assert.equal(withFields.log_attributes.region, '["eu","us"]');
  assert.equal(byBody('before the break').timestamp, '1767323049000000000');

  const raw = byBody('raw line one');
  assert.equal(raw.service_name, 'syslog');
  assert.deepEqual(raw.resource_attributes, { 'host.name': 'fw-1' });
  assert.equal(raw.log_attributes['splunk.sourcetype'], 'syslog');
});
