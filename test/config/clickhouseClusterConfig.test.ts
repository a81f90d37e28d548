import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';

const url = 'http://default:secret@127.0.0.1:8123/';
const refusal = (env: NodeJS.ProcessEnv, message: RegExp) =>
  assert.throws(
    () => loadConfig({ env }),
    (error: Error) => error instanceof ConfigError && message.test(error.message),
  );

test('clickhouse_cluster is unset by default and taken with clickhouse_url', () => {
  assert.equal(loadConfig({ env: {} }).clickhouse_cluster, undefined);
  const config = loadConfig({ env: { MESHLOG_CLICKHOUSE_URL: url, MESHLOG_CLICKHOUSE_CLUSTER: 'logs_cluster' } });
  assert.equal(config.clickhouse_cluster, 'logs_cluster');
});

test('clickhouse_cluster without clickhouse_url is refused: embedded chDB has no cluster', () => {
  refusal({ MESHLOG_CLICKHOUSE_CLUSTER: 'logs_cluster' }, /clickhouse_cluster: clickhouse_cluster needs clickhouse_url/);
});

test('a clickhouse_cluster that is not an identifier is refused, so it can never break out of the DDL quotes', () => {
  for (const name of ["logs'; DROP TABLE meshlog.logs; --", 'two words', '1st', 'x'.repeat(129), "c'"]) {
    refusal({ MESHLOG_CLICKHOUSE_URL: url, MESHLOG_CLICKHOUSE_CLUSTER: name }, /clickhouse_cluster: an identifier/);
  }
});
