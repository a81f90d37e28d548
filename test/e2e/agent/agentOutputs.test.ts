import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { judgeBulkAnswer } from '../../../src/agent/outputs/elasticsearchOutput.js';
import { startAgent, waitUntil } from '../../support/agentProcess.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

interface Row {
  body: string;
  receiver: string;
  resource: Record<string, string>;
  attributes: Record<string, string>;
}

/**
 * Each output against meshlog's own receiver for that protocol (Loki push,
 * Elasticsearch _bulk, OTLP/HTTP at an explicit URL): the agent speaks the
 * protocol well enough for a real implementation of it to store every line.
 */
test('outputs: Loki push (snappy protobuf and JSON), Elasticsearch _bulk and OTLP/HTTP, each received by meshlog’s own receiver for the protocol', async () => {
  const root = tempDataDir('meshlog-agent-outputs-');
  const meshlog = await startMeshlog();
  const outputs = {
    loki: { type: 'loki' },
    lokijson: { type: 'loki', loki_encoding: 'json' },
    elasticsearch: { type: 'elasticsearch', index: 'agent-logs', headers: { 'x-opaque-id': 'meshlog-agent-test' } },
    otlp: { type: 'otlp', url: `${meshlog.url}/v1/logs` },
  };
  try {
    for (const [name, output] of Object.entries(outputs)) {
      mkdirSync(join(root, name));
      const path = join(root, name, 'app.log');
      let text = '';
      for (let i = 0; i < 1500; i++) text += `${name}-line-${String(i).padStart(4, '0')} GET /api/v1/cart 200 ${i} ms\n`;
      writeFileSync(path, text);
      const agent = await startAgent({
        server: meshlog.url,
        token: meshlog.token,
        data_dir: join(root, name, 'agent-data'),
        files: [{ paths: [path], labels: { 'service.name': `cart-${name}` } }],
        batch: { max_wait_ms: 50, max_records: 500 },
        output,
      });
      try {
        await waitUntil(`${name}: the file is acknowledged`, async () =>
          (await agent.sources()).some((source) => source.acked_offset === statSync(path).size),
        );
        assert.equal(await agent.metric('meshlog_agent_batches_refused_total'), 0);
      } finally {
        await agent.stop();
      }
    }
  } finally {
    await meshlog.stop();
  }

  const rows = await readCommitted<Row>(
    meshlog.dataDir,
    `SELECT body, receiver, resource_attributes AS resource, log_attributes AS attributes FROM meshlog.logs ORDER BY body`,
  );
  const of = (name: string) => rows.filter((row) => row.body.startsWith(`${name}-line-`));
  for (const name of Object.keys(outputs)) {
    const stored = of(name);
    assert.equal(stored.length, 1500, `${name}: every line stored once`);
    assert.equal(new Set(stored.map((row) => row.body)).size, 1500);
  }

  for (const name of ['loki', 'lokijson']) {
    const [loki] = of(name);
    assert.equal(loki.receiver, 'loki');
    assert.equal(loki.resource.service_name, `cart-${name}`, 'resource attributes are stream labels');
    assert.match(loki.resource.log_file_path, new RegExp(`${name}/app\\.log$`));
    assert.match(
      loki.attributes['log.record.uid'],
      /^[0-9a-f]{16}-0$/,
      'the record id, structured metadata log_record_uid, is stored as log.record.uid',
    );
    assert.equal(loki.attributes.observed_timestamp, undefined, 'observed_timestamp became the observed time');
    assert.equal(loki.attributes.log_record_uid, undefined);
  }

  const [elastic] = of('elasticsearch');
  assert.equal(elastic.receiver, 'elasticsearch');
  assert.equal(elastic.attributes['elasticsearch.index'], 'agent-logs');
  assert.equal(elastic.resource['service.name'], 'cart-elasticsearch');
  assert.match(
    elastic.attributes['log.record.uid'],
    /^agent-logs\/[0-9a-f]{16}-0$/,
    'the action’s _id, within its index, is the record id',
  );
  assert.equal(elastic.attributes['event.created'], undefined, 'event.created became the observed time');

  const [otlp] = of('otlp');
  assert.equal(otlp.receiver, 'otlp_http');
  assert.equal(otlp.resource['service.name'], 'cart-otlp');
  assert.match(otlp.attributes['log.record.uid'], /^[0-9a-f]{16}-0$/);
});

test('an Elasticsearch _bulk answer: a 409 is a copy already indexed, 429 and 5xx are retried, other failures refuse the batch', () => {
  const answer = (...statuses: number[]) =>
    Buffer.from(
      JSON.stringify({
        took: 3,
        errors: statuses.some((status) => status >= 300),
        items: statuses.map((status, i) => ({
          create: {
            _index: 'logs',
            _id: `id-${i}`,
            status,
            ...(status >= 300 && {
              error: { type: status === 409 ? 'version_conflict_engine_exception' : 'es_rejected_execution_exception', reason: 'x' },
            }),
          },
        })),
      }),
    );
  assert.deepEqual(judgeBulkAnswer(answer(201, 201)), { kind: 'ok' });
  assert.deepEqual(judgeBulkAnswer(answer(201, 409)), { kind: 'ok' });
  assert.equal(judgeBulkAnswer(answer(201, 429, 400)).kind, 'retry');
  assert.equal(judgeBulkAnswer(answer(201, 503)).kind, 'retry');
  assert.equal(judgeBulkAnswer(answer(201, 400)).kind, 'refused');
  assert.equal(judgeBulkAnswer(Buffer.from('<html>')).kind, 'retry');
});
