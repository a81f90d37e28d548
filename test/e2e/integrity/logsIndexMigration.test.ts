import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { lokiCall } from '../../support/lokiCall.js';
import { startMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { readCommitted, runStatements } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

/** The logs table's skip indexes as migrations 1–24 left them: what a store written before migrations 25 and 30 has. */
const indexesBefore25 = [
  `ALTER TABLE meshlog.logs DROP INDEX idx_body_words`,
  `ALTER TABLE meshlog.logs ADD INDEX idx_body body TYPE text(tokenizer = splitByNonAlpha)`,
  `ALTER TABLE meshlog.logs MATERIALIZE INDEX idx_body`,
  `ALTER TABLE meshlog.logs ADD INDEX idx_resource_keys mapKeys(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1`,
  `ALTER TABLE meshlog.logs ADD INDEX idx_attribute_keys mapKeys(log_attributes) TYPE bloom_filter(0.01) GRANULARITY 1`,
  `ALTER TABLE meshlog.logs MATERIALIZE INDEX idx_resource_keys`,
  `ALTER TABLE meshlog.logs MATERIALIZE INDEX idx_attribute_keys`,
  `ALTER TABLE meshlog.schema_migrations DELETE WHERE version IN (25, 30)`,
];

async function logsTableDefinition(dataDir: string): Promise<string> {
  const [row] = await readCommitted<{ statement: string }>(dataDir, 'SHOW CREATE TABLE meshlog.logs');
  return row.statement;
}

async function termSearch(meshlog: { url: string; token: string }, query: string): Promise<string[]> {
  const now = Date.now();
  const answer = await lokiCall(meshlog, 'acme', '/loki/api/v1/query_range', {
    query,
    start: String((now - 3_600_000) * 1e6),
    end: String((now + 60_000) * 1e6),
    limit: '1000',
  });
  assert.equal(answer.status, 200, answer.text);
  return (answer.body.data.result as { values: [string, string][] }[]).flatMap((stream) => stream.values.map(([, line]) => line)).sort();
}

test('a store written before migrations 25 and 30 answers term searches the same and verifies clean after them', async () => {
  const first = await startMeshlog();
  const before = ['payment declined for order 7', 'payment accepted for order 8', 'cart emptied by user 9'];
  assert.equal((await postOtlpJson(first.url, first.token, otlpJsonRequest('shop', before), { 'x-scope-orgid': 'acme' })).status, 200);
  assert.equal(await first.stop(), 0, first.output());
  const dataDir = first.dataDir;

  // Back to the pre-25 schema, its rows indexed the old way.
  await runStatements(dataDir, indexesBefore25);
  const old = await logsTableDefinition(dataDir);
  assert.match(old, /idx_resource_keys/);
  assert.match(old, /idx_attribute_keys/);
  assert.match(old, /INDEX idx_body body TYPE text/);

  const upgraded = await startMeshlog({ dataDir });
  const after = ['payment retried for order 10'];
  assert.equal((await postOtlpJson(upgraded.url, upgraded.token, otlpJsonRequest('shop', after), { 'x-scope-orgid': 'acme' })).status, 200);
  assert.deepEqual(await termSearch(upgraded, '{service_name="shop"} |= "payment"'), [
    'payment accepted for order 8',
    'payment declined for order 7',
    'payment retried for order 10',
  ]);
  assert.deepEqual(await termSearch(upgraded, '{service_name="shop"} |~ "order [79]$"'), ['payment declined for order 7']);
  assert.deepEqual(await termSearch(upgraded, '{service_name="shop"} |= "nowhere"'), []);
  assert.deepEqual(await termSearch(upgraded, '{service_name="shop"} |= "declined for order"'), ['payment declined for order 7']);
  assert.deepEqual(await termSearch(upgraded, '{service_name="shop"} |= " 10"'), ['payment retried for order 10']);
  assert.deepEqual(await termSearch(upgraded, '{service_name="shop"} |= "order 8"'), ['payment accepted for order 8']);
  assert.equal(await upgraded.stop(), 0, upgraded.output());

  const definition = await logsTableDefinition(dataDir);
  assert.doesNotMatch(definition, /idx_resource_keys|idx_attribute_keys/);
  assert.doesNotMatch(definition, /INDEX idx_body body/);
  assert.match(definition, /INDEX idx_body_words \(replaceRegexpAll\(body, '\[0-9\]\+', ' '\)\) TYPE text/);
  // Parts stored before the migration get the new index by a background mutation the migration queues: once when
  // the first server created the store, once at the upgrade.
  const queued = await readCommitted<{ commands: string }>(
    dataDir,
    `SELECT toString(count()) AS commands FROM system.mutations WHERE database = 'meshlog' AND table = 'logs' AND command LIKE '%MATERIALIZE INDEX idx_body_words%'`,
  );
  assert.deepEqual(queued, [{ commands: '2' }]);
  const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^OK — /m);
});
