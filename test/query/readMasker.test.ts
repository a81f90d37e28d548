import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadMasker, type LokiStream } from '../../src/query/readMasking.js';

const masker = new ReadMasker({ fields: ['user.email', 'card.*'] });

function maskedLine(line: string): [string, number] {
  const stream: LokiStream = { stream: { service_name: 'cart' }, values: [['1', line]] };
  const count = masker.maskStream(stream);
  return [stream.values[0]![1], count];
}

test('a sensitive key=value or JSON field inside a line is masked, quoting kept', () => {
  assert.deepEqual(maskedLine('order placed user.email=ann@example.com total=12'), ['order placed user.email=[MASKED] total=12', 1]);
  assert.deepEqual(maskedLine('{"user_email":"ann@example.com","card.last4":"4242"}'), [
    '{"user_email":"[MASKED]","card.last4":"[MASKED]"}',
    2,
  ]);
});

test('a value already redacted at ingest is left whole, not cut at its closing bracket', () => {
  assert.deepEqual(maskedLine('login user.email=[REDACTED:email] ok'), ['login user.email=[REDACTED:email] ok', 0]);
  assert.deepEqual(maskedLine('login user.email=[MASKED] ok'), ['login user.email=[MASKED] ok', 0]);
});
