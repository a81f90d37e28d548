import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAgentConfig } from '../../src/agent/agentConfig.js';
import { ServerFailover } from '../../src/agent/delivery/serverFailover.js';
import { agentOutputUrls } from '../../src/agent/outputs/outputFromConfig.js';
import { ConfigError } from '../../src/config/loadConfig.js';

const reading = { stdin: true };

test('a failed send moves on to the next server, round robin, and failures of the same server by concurrent batches move once', () => {
  const servers = new ServerFailover(['http://a/v1/logs', 'http://b/v1/logs', 'http://c/v1/logs']);
  assert.equal(servers.url, 'http://a/v1/logs');
  assert.equal(servers.failed('http://a/v1/logs'), 'http://b/v1/logs');
  // A second batch that had also been sent to A fails after the move: it does not skip B.
  assert.equal(servers.failed('http://a/v1/logs'), undefined);
  assert.equal(servers.url, 'http://b/v1/logs');
  assert.equal(servers.failed('http://b/v1/logs'), 'http://c/v1/logs');
  assert.equal(servers.failed('http://c/v1/logs'), 'http://a/v1/logs');
});

test('one server never moves, and no server at all is refused', () => {
  const one = new ServerFailover(['http://a/v1/logs']);
  assert.equal(one.failed('http://a/v1/logs'), undefined);
  assert.equal(one.url, 'http://a/v1/logs');
  assert.throws(() => new ServerFailover([]), /no server/);
});

test('servers come from the config file list, or comma-separated from the environment, each with the output path', () => {
  const fromEnv = loadAgentConfig({ env: { MESHLOG_AGENT_SERVERS: 'http://a:3100/, http://b:3100' }, flags: reading });
  assert.deepEqual(agentOutputUrls(fromEnv), ['http://a:3100/v1/logs', 'http://b:3100/v1/logs']);
  const loki = loadAgentConfig({ env: {}, flags: { ...reading, servers: ['http://a:3100', 'http://b:3100'], output: { type: 'loki' } } });
  assert.deepEqual(agentOutputUrls(loki), ['http://a:3100/loki/api/v1/push', 'http://b:3100/loki/api/v1/push']);
  // Without servers, the one server as before.
  assert.deepEqual(agentOutputUrls(loadAgentConfig({ env: {}, flags: reading })), ['http://127.0.0.1:3100/v1/logs']);
});

test('a server list with something that is not a URL, or an empty one, is refused at start', () => {
  assert.throws(() => loadAgentConfig({ env: { MESHLOG_AGENT_SERVERS: 'http://a:3100,not a url' }, flags: reading }), ConfigError);
  assert.throws(() => loadAgentConfig({ env: {}, flags: { ...reading, servers: [] } }), ConfigError);
});
