import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectedLevelOf, detectedLevelSql, lokiLevelByWord } from '../../src/model/severity.js';
import { connect } from '../../src/storage/engine/connection.js';
import { migrations } from '../../src/storage/engine/migrations.js';
import { fallbackServiceName } from '../../src/pipeline/normalize/serviceName.js';

// Loki's distributor (pkg/distributor/field_detection.go normalizeLogLevel) and the syslog and pino words beside them.
const cases: [string, number, string][] = [
  ['err', 17, 'error'],
  ['ERROR', 17, 'error'],
  ['Warning', 13, 'warn'],
  ['wrn', 13, 'warn'],
  ['notice', 10, 'info'],
  ['inf', 9, 'info'],
  ['Information', 9, 'info'],
  ['crit', 18, 'critical'],
  ['CRITICAL', 18, 'critical'],
  ['alert', 19, 'critical'],
  ['emerg', 21, 'fatal'],
  ['dbg', 5, 'debug'],
  ['trc', 1, 'trace'],
  ['30', 9, 'info'],
  ['50', 17, 'error'],
  ['60', 21, 'fatal'],
  // OTel short names with a step, and words Loki does not know but that carry a severity number.
  ['INFO2', 10, 'info'],
  ['ERROR3', 19, 'error'],
  ['severe', 17, 'error'],
  ['', 13, 'warn'],
  // No word Loki knows and no number: kept as sent, as Loki keeps it.
  ['Verbose', 0, 'Verbose'],
  ['', 0, ''],
];

test("detected_level in Loki's vocabulary: err → error, warning → warn, notice → info, crit → critical, pino 50 → error", () => {
  for (const [text, number, level] of cases) assert.equal(detectedLevelOf(text, number), level, `${text}/${number}`);
  const vocabulary = new Set(['trace', 'debug', 'info', 'warn', 'error', 'critical', 'fatal']);
  for (const level of Object.values(lokiLevelByWord)) assert.ok(vocabulary.has(level), level);
});

test('the logs table computes the same detected_level in ClickHouse as tail and the TypeScript rule', async () => {
  // The migration that set the column holds the expression as of its version: a change to the rule needs a new migration.
  const migration = migrations.find((candidate) => candidate.version === 20)!;
  const squeeze = (sql: string) => sql.replace(/\s+/g, ' ');
  assert.ok(squeeze(migration.statements[0]).includes(squeeze(detectedLevelSql())), 'migration 20 is detectedLevelSql()');

  const dataDir = mkdtempSync(join(tmpdir(), 'meshlog-level-'));
  const { client } = connect({ dataDir });
  try {
    const values = cases.map(([text, number]) => `(${JSON.stringify(text).replace(/"/g, "'")}, ${number})`).join(', ');
    const result = await client.query({
      query: `SELECT ${detectedLevelSql()} AS level FROM (SELECT c1 AS severity_text, toUInt8(c2) AS severity_number FROM values(${values}))`,
      format: 'JSONEachRow',
    });
    const levels = (await result.json<{ level: string }>()).map((row) => row.level);
    assert.deepEqual(
      levels,
      cases.map(([, , level]) => level),
    );
  } finally {
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a service for records whose shipper named none, else unknown_service', () => {
  assert.equal(fallbackServiceName('', {}, {}), 'unknown_service');
  assert.equal(fallbackServiceName('unknown_service:node', {}, {}), 'unknown_service:node', "an SDK's own unknown name is kept");
  assert.equal(fallbackServiceName('checkout', {}, { 'syslog.appname': 'other' }), 'checkout');
  assert.equal(fallbackServiceName('', { 'k8s.deployment.name': 'cart' }, { 'syslog.appname': 'nginx' }), 'cart');
  assert.equal(fallbackServiceName('', {}, { 'kubernetes.labels.app': 'web', 'fluent.tag': 'kube.var.log' }), 'web');
  assert.equal(fallbackServiceName('', {}, { service: 'billing' }), 'billing');
  assert.equal(fallbackServiceName('', {}, { 'syslog.appname': 'sshd' }), 'sshd');
  assert.equal(fallbackServiceName('', {}, { 'fluent.tag': 'app.access' }), 'app.access');
  assert.equal(fallbackServiceName('', {}, { 'elasticsearch.index': 'logstash-2026.11.25' }), 'logstash');
  assert.equal(fallbackServiceName('', {}, { 'elasticsearch.index': 'pino-2026-11-25' }), 'pino');
  assert.equal(fallbackServiceName('', {}, { 'elasticsearch.index': 'app-000001' }), 'app');
  assert.equal(fallbackServiceName('', {}, { 'elasticsearch.index': 'fluent-bit' }), 'fluent-bit');
});
