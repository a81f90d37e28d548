import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { newLogRecord } from '../../../src/model/logRecord.js';
import { builtinRules, defaultRuleNames } from '../../../src/pipeline/redact/builtinRules.js';
import { Redactor } from '../../../src/pipeline/redact/redactor.js';
import { redactionStage } from '../../../src/pipeline/redactionStage.js';
import { loghubDir } from '../../support/loghub.js';

/** Every raw line of the Loghub 2k samples, and the real Envoy and Istio access lines of the parser fixtures. */
function corpus(): string[] {
  const lines: string[] = [];
  for (const set of readdirSync(loghubDir, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
    lines.push(
      ...readFileSync(join(loghubDir, set.name, `${set.name}_2k.log`), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
  }
  for (const fixture of ['envoy', 'istio', 'envoyJson']) {
    const cases = JSON.parse(readFileSync(new URL(`../../../../test/fixtures/parsers/${fixture}.json`, import.meta.url), 'utf8')) as {
      line: string;
    }[];
    lines.push(...cases.map((c) => c.line));
  }
  return lines;
}

/** What one rule alone redacts in the corpus: the count and the distinct values. */
function redactedBy(rule: string, lines: string[]): { count: number; values: Set<string> } {
  const values = new Set<string>();
  const redactor = new Redactor([builtinRules[rule]], (name, secret) => (values.add(secret), `[REDACTED:${name}]`));
  const counts = new Map<string, number>();
  for (const line of lines) redactor.redact(line, counts);
  return { count: counts.get(rule) ?? 0, values };
}

/** Deterministic UUIDs (mulberry32), so every run tests the same ones. */
function uuids(count: number, seed: number): string[] {
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join('');
  return Array.from({ length: count }, () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(next() * 4)]}${hex(3)}-${hex(12)}`);
}

test('every built-in rule on 24,000 Loghub lines and real mesh access lines redacts only what is truly personal or secret', () => {
  const lines = corpus();
  assert.ok(lines.length > 24_000, `${lines.length} lines`);
  const counts = Object.fromEntries(Object.keys(builtinRules).map((rule) => [rule, redactedBy(rule, lines).count]));
  // Known true: e-mail addresses (a build account, iCloud and 163.com accounts), client IPv4 addresses, interface IPv6 addresses.
  // The corpus includes the Envoy and Istio parser fixtures: a fixture line added with addresses in it adds to ipv4 (Emissary's added 2; the
  // two Istio TCP lines 8 and the three gRPC JSON lines 12: upstream, local and peer addresses, all real).
  // Before, credit_card took 17 HDFS block ids (blk_-6952295868487656571) and ipv6 took C++ scopes (Mgr::Send) and `::0`.
  assert.deepEqual(counts, {
    url_password: 0,
    query_secret: 0,
    email: 12,
    credit_card: 0,
    us_ssn: 0,
    jwt: 0,
    bearer_token: 0,
    aws_access_key: 0,
    github_token: 0,
    slack_token: 0,
    ipv4: 7052,
    ipv6: 39,
  });
  assert.deepEqual([...redactedBy('email', lines).values].sort(), [
    '13957525385%40163.com@p28-contacts.icloud.com',
    'bhcompile@bugs.build.redhat.com',
    'xpc_ben@163.com',
  ]);
  const ipv6 = [...redactedBy('ipv6', lines).values];
  assert.ok(
    ipv6.every((value) => /^(?:[0-9a-f]{1,4}:|::?)[0-9a-f:]*$/i.test(value) && value.includes(':') && value.length >= 7),
    ipv6.join(' '),
  );
});

test('redaction never fires inside a UUID: request ids of Envoy lines stay whole with every default rule', () => {
  const stage = redactionStage({ rules: defaultRuleNames, custom: [] }, () => assert.fail('nothing is redacted'));
  const ids = ['60837783-5337-4406-8d91-06058df09993', ...uuids(5000, 20)];
  const lines = ids.map(
    (id) =>
      `[2024-02-01T08:15:42.001Z] "GET /api/orders HTTP/1.1" 200 - 0 512 12 11 "10.0.0.7" "curl/8.4.0" "${id}" "orders.internal" "10.0.3.9:8080"`,
  );
  const redacted = stage(
    ids.map((id, i) =>
      newLogRecord({ tenant: 't', receiver: 'test', body: lines[i], attributes: { 'http.request.header.x-request-id': id } }),
    ),
  );
  assert.deepEqual(
    redacted.map((record) => record.body),
    lines,
  );
  assert.deepEqual(
    redacted.map((record) => record.attributes['http.request.header.x-request-id']),
    ids,
  );
});
