import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { defaultRuleNames } from '../../../src/pipeline/redact/builtinRules.js';
import { luhnValid } from '../../../src/pipeline/redact/luhn.js';
import { redactionStage } from '../../../src/pipeline/redactionStage.js';

function redactWith(
  rules: string[],
  body: string,
  attributes: Record<string, string> = {},
  custom: { name: string; pattern: string }[] = [],
) {
  const counts: Record<string, number> = {};
  const stage = redactionStage({ rules, custom }, (rule, count) => (counts[rule] = (counts[rule] ?? 0) + count));
  const [record] = stage([newLogRecord({ tenant: 't', receiver: 'test', body, attributes })]);
  return { body: record.body, attributes: record.attributes, counts };
}

const jwt =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

test('Luhn check', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('5555555555554444'), true);
  assert.equal(luhnValid('4111111111111112'), false);
});

test('e-mail, Luhn-valid cards (with separators), SSN and JWT in body and attributes are masked and counted', () => {
  const { body, attributes, counts } = redactWith(
    defaultRuleNames,
    `order by jane.doe+shop@example.co.uk card 4111 1111 1111 1111 amex 3782-822463-10005 ssn 078-05-1120 token ${jwt}`,
    { 'user.email': 'bob@example.org', 'http.request.header.authorization': `Bearer ${jwt}`, note: 'card=5555555555554444' },
  );
  assert.equal(
    body,
    'order by [REDACTED:email] card [REDACTED:credit_card] amex [REDACTED:credit_card] ssn [REDACTED:us_ssn] token [REDACTED:jwt]',
  );
  assert.deepEqual(attributes, {
    'user.email': '[REDACTED:email]',
    'http.request.header.authorization': 'Bearer [REDACTED:jwt]',
    note: 'card=[REDACTED:credit_card]',
  });
  assert.deepEqual(counts, { email: 2, credit_card: 3, us_ssn: 1, jwt: 2 });
});

test('what looks like a secret but is not stays: Luhn-invalid 16 digits, timestamps, trace ids, invalid SSN areas', () => {
  const text =
    'ref 4111111111111112 at 1700000000123456789 trace 4bf92f3577b34da6a3ce929d0e0e4736 ssn-like 666-12-3456 port 8080 took 0.012s';
  const { body, counts } = redactWith(defaultRuleNames, text);
  assert.equal(body, text);
  assert.deepEqual(counts, {});
});

test('a record is screened as a whole: a secret in any one value is found, values that only look like one together stay', () => {
  const counts: Record<string, number> = {};
  const stage = redactionStage({ rules: defaultRuleNames, custom: [] }, (rule, count) => (counts[rule] = (counts[rule] ?? 0) + count));
  const accessLine = '[2026-01-01T00:00:00.000Z] "GET /api/items?page=2 HTTP/1.1" 200 - 0 4123 42 3 "cc21d9b0-cf5c-432b-8c7e-000000000042"';
  const [owned, split] = stage([
    newLogRecord({
      tenant: 't',
      receiver: 'test',
      body: accessLine,
      attributes: { 'url.query': 'page=2' },
      resource: { 'team.owner': 'ops@example.com' },
    }),
    // `Bearer` ends one value and a token-like word starts the next: not a bearer token in either.
    newLogRecord({ tenant: 't', receiver: 'test', body: accessLine, attributes: { scheme: 'Bearer', 'mesh.route': 'abcdefghijklmnop' } }),
  ]);
  assert.equal(owned.body, accessLine);
  assert.deepEqual(owned.resource, { 'team.owner': '[REDACTED:email]' });
  assert.deepEqual(split.attributes, { scheme: 'Bearer', 'mesh.route': 'abcdefghijklmnop' });
  assert.deepEqual(counts, { email: 1 });
});

test('API keys, tokens and passwords in URLs and query strings', () => {
  const { body, counts } = redactWith(
    defaultRuleNames,
    'auth Bearer 3f9a8b7c6d5e4f30a1b2 aws AKIAIOSFODNN7EXAMPLE gh ghp_16C7e42F292c6912E7710c838347Ae178B4a slack xoxb-2048-1024-Fr4nKl1nM0nk3y db postgres://app:s3cr3t@db.internal:5432/shop GET /login?user=ann&password=hunter2&next=/',
  );
  assert.equal(
    body,
    'auth [REDACTED:bearer_token] aws [REDACTED:aws_access_key] gh [REDACTED:github_token] slack [REDACTED:slack_token] db postgres://app:[REDACTED:url_password]@db.internal:5432/shop GET /login?user=ann&password=[REDACTED:query_secret]&next=/',
  );
  assert.deepEqual(counts, { bearer_token: 1, aws_access_key: 1, github_token: 1, slack_token: 1, url_password: 1, query_secret: 1 });
});

test('IP addresses only when asked for; user rules with their own names', () => {
  const text = 'peer 10.44.1.23 and fd00:10:244::5 at 12:30:45 order ord_ab12cd34';
  assert.equal(redactWith(defaultRuleNames, text).body, text);
  const { body, counts } = redactWith(['ipv4', 'ipv6'], text, {}, [{ name: 'order_ref', pattern: 'ord_[a-z0-9]{8}' }]);
  assert.equal(body, 'peer [REDACTED:ipv4] and [REDACTED:ipv6] at 12:30:45 order [REDACTED:order_ref]');
  assert.deepEqual(counts, { ipv4: 1, ipv6: 1, order_ref: 1 });
});

test('an unknown rule name is refused', () => {
  assert.throws(() => redactionStage({ rules: ['email', 'passport'], custom: [] }, () => {}), /unknown redaction rule "passport"/);
});

test('keyed-hash mode: equal secrets give equal markers (they still join), another key gives another, the value is not in it', () => {
  const key = Buffer.alloc(32, 7);
  const stage = (hashKey: Buffer) => redactionStage({ rules: defaultRuleNames, custom: [], hashKey }, () => {});
  const [first, second] = stage(key)([
    newLogRecord({ tenant: 't', receiver: 'test', body: 'login jane@example.com' }),
    newLogRecord({ tenant: 't', receiver: 'test', body: 'logout jane@example.com', attributes: { user: 'jane@example.com' } }),
  ]);
  const marker = /^login (\[REDACTED:email:[0-9a-f]{16}\])$/.exec(first.body)?.[1];
  assert.ok(marker, first.body);
  assert.equal(second.body, `logout ${marker}`);
  assert.equal(second.attributes.user, marker);
  const [other] = stage(Buffer.alloc(32, 8))([newLogRecord({ tenant: 't', receiver: 'test', body: 'login jane@example.com' })]);
  assert.notEqual(other.body, first.body);
  assert.ok(!first.body.includes('jane'));
});

test('attribute allowlist: only listed keys and prefixes survive, the rest is dropped and counted', () => {
  const counts: Record<string, number> = {};
  const stage = redactionStage(
    { rules: [], custom: [], attributeAllowlist: ['http.*', 'service.version'] },
    (rule, count) => (counts[rule] = count),
  );
  const [record] = stage([
    newLogRecord({
      tenant: 't',
      receiver: 'test',
      body: 'ok',
      attributes: {
        'http.response.status_code': '200',
        'http.route': '/pay',
        'service.version': '1.2',
        'user.id': 'u-17',
        'customer.address': 'Main St 1',
      },
    }),
  ]);
  assert.deepEqual(record.attributes, { 'http.response.status_code': '200', 'http.route': '/pay', 'service.version': '1.2' });
  assert.deepEqual(counts, { attribute_allowlist: 2 });
});
