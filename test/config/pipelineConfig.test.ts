import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';

const load = (pipeline: unknown) => loadConfig({ env: {}, flags: { pipeline } as Record<string, unknown> });

test('pipeline defaults: parsing, stack-trace joining and redaction on; IP addresses not redacted', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.pipeline.parse, true);
  assert.equal(config.pipeline.multiline, true);
  assert.equal(config.pipeline.redaction.enabled, true);
  assert.ok(config.pipeline.redaction.rules.includes('credit_card'));
  assert.ok(!config.pipeline.redaction.rules.includes('ipv4'));
  assert.deepEqual(config.pipeline.envoy_formats, []);
});

test('pipeline settings from the environment', () => {
  const config = loadConfig({ env: { MESHLOG_PIPELINE_PARSE: 'false', MESHLOG_PIPELINE_REDACTION_ENABLED: 'false' } });
  assert.equal(config.pipeline.parse, false);
  assert.equal(config.pipeline.redaction.enabled, false);
});

test('a bad Envoy format, redaction regex or rule name is refused naming the key', () => {
  assert.throws(
    () => load({ envoy_formats: [{ name: 'glued', format: '%DURATION%%BYTES_SENT%' }] }),
    (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /pipeline\.envoy_formats\.0\.format: two fields without a separator/);
      return true;
    },
  );
  assert.throws(
    () => load({ redaction: { custom: [{ name: 'broken', pattern: '([a-z' }] } }),
    /pipeline\.redaction\.custom\.0\.pattern: Invalid regular expression/,
  );
  assert.throws(
    () => load({ redaction: { custom: [{ name: 'empty', pattern: 'x*' }] } }),
    /pipeline\.redaction\.custom\.0\.pattern: the pattern matches the empty string/,
  );
  assert.throws(() => load({ redaction: { rules: ['email', 'passport'] } }), /pipeline\.redaction\.rules\.1/);
});
