import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configDiff, configSnapshot, excludedSecret } from '../../src/config/configFingerprint.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import type { MeshlogConfig } from '../../src/config/schema.js';

const slackHook = 'https://hooks.slack.com/services/T0000/B0000/slack-path-secret';

/** A configuration holding a credential in every form one can take: a field, a URL password, a query string, a webhook path. */
function configWithCredentials(): MeshlogConfig {
  const config = loadConfig({ env: { MESHLOG_CLICKHOUSE_URL: 'http://default:ch-password@127.0.0.1:8123/' } });
  return {
    ...config,
    cluster: { ...config.cluster, nats: { ...config.cluster.nats, servers: ['nats://meshlog:nats-password@10.0.0.1:4222'] } },
    alerting: {
      ...config.alerting,
      slack: [{ url: slackHook, max_attempts: 5, initial_backoff_ms: 1000, timeout_ms: 10_000 }],
      webhooks: [
        {
          url: 'https://hooks.example.com/alert?token=query-secret',
          secret_file: '/etc/meshlog/hmac',
          max_attempts: 5,
          initial_backoff_ms: 1000,
          timeout_ms: 10_000,
        },
      ],
    },
  };
}

test('the audited config holds no credential: fields, URL passwords, query strings and webhook paths are excluded', () => {
  const snapshot = configSnapshot(configWithCredentials());
  const text = JSON.stringify(snapshot);
  for (const secret of ['ch-password', 'nats-password', 'slack-path-secret', 'query-secret'])
    assert.ok(!text.includes(secret), `${secret} is not in the snapshot`);
  // What an auditor needs to read the change is kept: hosts, users, the file holding the HMAC key.
  assert.equal(snapshot.clickhouse_url, 'http://default:secret-excluded@127.0.0.1:8123/');
  assert.deepEqual((snapshot.cluster as { nats: { servers: string[] } }).nats.servers, ['nats://meshlog:secret-excluded@10.0.0.1:4222']);
  const alerting = snapshot.alerting as { slack: { url: string }[]; webhooks: { url: string; secret_file: string }[] };
  assert.equal(alerting.slack[0].url, `https://hooks.slack.com/${excludedSecret}`);
  assert.equal(alerting.webhooks[0].url, `https://hooks.example.com/${excludedSecret}`);
  assert.equal(alerting.webhooks[0].secret_file, '/etc/meshlog/hmac');
});

test('the audited config shows every number, including the per-key rate limits', () => {
  const config = loadConfig({ env: {} });
  const snapshot = configSnapshot(config);
  const limits = snapshot.limits as Record<string, unknown>;
  assert.equal(limits.ingest_requests_per_second_per_key, config.limits.ingest_requests_per_second_per_key);
  assert.equal(limits.query_requests_per_second_per_key, config.limits.query_requests_per_second_per_key);

  const raised = configSnapshot({
    ...config,
    limits: { ...config.limits, query_requests_per_second_per_key: config.limits.query_requests_per_second_per_key + 1 },
  });
  const changes = configDiff(snapshot, raised);
  assert.deepEqual(
    changes.map((change) => change.path),
    ['limits.query_requests_per_second_per_key'],
    'a raised per-key limit shows in the config.change diff',
  );
  assert.equal(changes[0].to, config.limits.query_requests_per_second_per_key + 1);
});
