import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newLogRecord, type LogRecord } from '../../../src/model/logRecord.js';
import { defaultRuleNames } from '../../../src/pipeline/redact/builtinRules.js';
import { redactionStage, sensitiveMarkAttribute, type RedactionOptions } from '../../../src/pipeline/redactionStage.js';

// Resource values are screened once per resource object and batch (decoders share one object among a resource's records).

function stageCounting(options: RedactionOptions) {
  const counts: Record<string, number> = {};
  const stage = redactionStage(options, (rule, count) => (counts[rule] = (counts[rule] ?? 0) + count));
  return { stage, counts };
}

/** Records of one OTLP resource: they share its attribute object, as the decoders give them. */
function recordsOf(tenant: string, resource: Record<string, string>, bodies: string[]): LogRecord[] {
  return bodies.map((body) => newLogRecord({ tenant, receiver: 'test', body, resource }));
}

const secretResource = () => ({ 'service.name': 'shop', 'team.owner': 'ops@example.com', 'billing.card': '4111 1111 1111 1111' });

test('redact mode: every record of a shared resource leaves with its secrets masked, counted once per resource', () => {
  const { stage, counts } = stageCounting({ rules: defaultRuleNames, custom: [] });
  const records = stage([
    ...recordsOf('t', secretResource(), ['one', 'two mail bob@example.org', 'three']),
    ...recordsOf('t', secretResource(), ['four']),
  ]);
  for (const record of records) {
    assert.deepEqual(record.resource, {
      'service.name': 'shop',
      'team.owner': '[REDACTED:email]',
      'billing.card': '[REDACTED:credit_card]',
    });
  }
  assert.equal(records[1].body, 'two mail [REDACTED:email]');
  // Two resource objects with one e-mail and one card each, and one e-mail in a body.
  assert.deepEqual(counts, { email: 3, credit_card: 2 });
});

test('redact mode: resources not shared (one object per record) are each redacted and counted', () => {
  const { stage, counts } = stageCounting({ rules: defaultRuleNames, custom: [] });
  const records = stage([1, 2, 3].map((n) => newLogRecord({ tenant: 't', receiver: 'test', body: `r${n}`, resource: secretResource() })));
  for (const record of records) assert.equal(record.resource['team.owner'], '[REDACTED:email]');
  assert.deepEqual(counts, { email: 3, credit_card: 3 });
});

test('observe mode: every record of a shared resource is marked and counted, the values stay', () => {
  const { stage, counts } = stageCounting({ rules: defaultRuleNames, custom: [], observe: true });
  const records = stage(recordsOf('t', secretResource(), ['one', 'two', 'token 078-05-1120']));
  for (const record of records) assert.equal(record.resource['team.owner'], 'ops@example.com');
  assert.deepEqual(
    records.map((record) => record.attributes[sensitiveMarkAttribute]),
    ['credit_card,email', 'credit_card,email', 'credit_card,email,us_ssn'],
  );
  assert.deepEqual(counts, { email: 3, credit_card: 3, us_ssn: 1 });
});

test('attack: equal resource values under other tenants and other rules are redacted by their own stage, never by a cached result', () => {
  const keyA = Buffer.alloc(32, 1);
  const keyB = Buffer.alloc(32, 2);
  const a = stageCounting({ rules: defaultRuleNames, custom: [], hashKey: keyA });
  const b = stageCounting({ rules: defaultRuleNames, custom: [], hashKey: keyB });
  const none = stageCounting({ rules: ['ipv4'], custom: [] });
  const [ofA] = a.stage(recordsOf('tenant-a', secretResource(), ['x']));
  const [ofB] = b.stage(recordsOf('tenant-b', secretResource(), ['x']));
  const [ofNone] = none.stage(recordsOf('tenant-c', secretResource(), ['x']));
  assert.match(ofA.resource['team.owner'], /^\[REDACTED:email:[0-9a-f]{16}\]$/);
  assert.match(ofB.resource['team.owner'], /^\[REDACTED:email:[0-9a-f]{16}\]$/);
  assert.notEqual(ofA.resource['team.owner'], ofB.resource['team.owner']);
  assert.equal(ofNone.resource['team.owner'], 'ops@example.com');
  assert.deepEqual(none.counts, {});
});

test('attack: a resource object seen in an earlier batch is screened again (nothing is cached across batches)', () => {
  const { stage, counts } = stageCounting({ rules: defaultRuleNames, custom: [], observe: true });
  const resource: Record<string, string> = { 'service.name': 'shop' };
  const [clean] = stage(recordsOf('t', resource, ['one']));
  assert.equal(clean.attributes[sensitiveMarkAttribute], undefined);
  resource['team.owner'] = 'ops@example.com';
  const [marked] = stage(recordsOf('t', resource, ['two']));
  assert.equal(marked.attributes[sensitiveMarkAttribute], 'email');
  assert.deepEqual(counts, { email: 1 });
});

test('a user rule that matches its own marker masks a shared resource once, not again for each later record', () => {
  const { stage, counts } = stageCounting({ rules: [], custom: [{ name: 'word', pattern: 'REDACTED' }] });
  const records = stage(recordsOf('t', { note: 'REDACTED value' }, ['a', 'b', 'c']));
  for (const record of records) assert.equal(record.resource.note, '[REDACTED:word] value');
  assert.deepEqual(counts, { word: 1 });
});
