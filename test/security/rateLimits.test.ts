import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshlogError } from '../../src/errors.js';
import type { Identity } from '../../src/security/identity.js';
import { RateLimits, type RateLimitSettings } from '../../src/security/rateLimits.js';
import { TokenBucket } from '../../src/security/tokenBucket.js';

const settings: RateLimitSettings = {
  burst_seconds: 2,
  ingest_requests_per_second_per_key: 10,
  ingest_records_per_second_per_tenant: 100,
  query_requests_per_second_per_key: 1,
  query_requests_per_second_per_tenant: 3,
};
const key = (id: string): Identity => ({ id, name: `key ${id}`, kind: 'api_key', roles: ['analyst', 'ingester'], tenants: ['*'] });

function refusal(action: () => void): MeshlogError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof MeshlogError);
    return error;
  }
  assert.fail('expected a rate-limit refusal');
}

test('a token bucket grants its burst, then refuses with the wait until the next token', () => {
  const bucket = new TokenBucket(5, 10, 0);
  for (let i = 0; i < 10; i++) assert.equal(bucket.take(1, 0), 0);
  assert.equal(bucket.take(1, 0), 200);
  assert.equal(bucket.take(1, 100), 100);
  assert.equal(bucket.take(1, 200), 0);
  // Refill never exceeds the burst.
  assert.ok(bucket.isFull(60_000));
});

test('a take larger than the burst passes from a full bucket and leaves a debt', () => {
  const bucket = new TokenBucket(10, 20, 0);
  assert.equal(bucket.take(50, 0), 0);
  // 30 tokens owed, and one more needed: 3.1 s.
  assert.equal(bucket.take(1, 0), 3100);
  assert.equal(bucket.take(1, 3100), 0);
});

test('queries are limited per key and per tenant; a refusal is ML_RATE_LIMITED (429) with Retry-After', () => {
  let now = 0;
  const limits = new RateLimits(settings, () => now);
  limits.query(key('a'), 'acme');
  limits.query(key('a'), 'acme');
  const perKey = refusal(() => limits.query(key('a'), 'acme'));
  assert.equal(perKey.code, 'ML_RATE_LIMITED');
  assert.equal(perKey.status, 429);
  assert.equal(perKey.retryAfterSeconds, 1);
  assert.match(perKey.message, /queries of key a above 1 requests\/s/);
  // Another key of the same tenant has its own bucket, until the tenant's (3/s, burst 6) runs out.
  for (const id of ['b', 'b', 'c', 'c']) limits.query(key(id), 'acme');
  assert.match(refusal(() => limits.query(key('d'), 'acme')).message, /queries of tenant "acme"/);
  limits.query(key('d'), 'beta');
  now += 1000;
  limits.query(key('a'), 'beta');
});

test('ingested records are limited per tenant across keys, requests per key; a limit of 0 is off', () => {
  let now = 0;
  const limits = new RateLimits(settings, () => now);
  limits.ingestRecords(
    new Map([
      ['acme', 250],
      ['beta', 10],
    ]),
  );
  const refused = refusal(() => limits.ingestRecords(new Map([['acme', 1]])));
  assert.match(refused.message, /records ingested into tenant "acme" above 100 records\/s/);
  assert.equal(refused.retryAfterSeconds, 1);
  limits.ingestRecords(new Map([['beta', 100]]));
  now += 600;
  limits.ingestRecords(new Map([['acme', 1]]));
  for (let i = 0; i < 20; i++) limits.ingestRequest(key('shipper'));
  assert.match(refusal(() => limits.ingestRequest(key('shipper'))).message, /ingest requests of key shipper/);

  const unlimited = new RateLimits(
    { ...settings, ingest_records_per_second_per_tenant: 0, query_requests_per_second_per_key: 0, query_requests_per_second_per_tenant: 0 },
    () => 0,
  );
  unlimited.ingestRecords(new Map([['acme', 1_000_000]]));
  for (let i = 0; i < 1000; i++) unlimited.query(key('a'), 'acme');
});

/** How many records of a tenant pass, pushed one at a time with the clock stopped. */
function recordsPassing(limits: RateLimits, tenant: string, tries: number): number {
  let passed = 0;
  for (let i = 0; i < tries; i++) {
    try {
      limits.ingestRecords(new Map([[tenant, 1]]));
      passed++;
    } catch (error) {
      if (!(error instanceof MeshlogError)) throw error;
    }
  }
  return passed;
}

test('with a share of the limit, a node grants limit / nodes, and more when nodes leave', () => {
  let nodes = 4;
  const limits = new RateLimits(settings, () => 0, { nodesTaking: (traffic) => (traffic === 'ingest' ? nodes : 1) });
  // 100 records/s over 4 nodes, burst 2 s: 50 here.
  assert.equal(recordsPassing(limits, 'acme', 200), 50);
  // Another tenant's bucket is its own.
  assert.equal(recordsPassing(limits, 'beta', 200), 50);
  nodes = 2;
  // A fresh tenant gets the larger share at once; a drained bucket keeps its debt and refills at the new rate.
  assert.equal(recordsPassing(limits, 'gamma', 200), 100);
  assert.equal(recordsPassing(limits, 'acme', 200), 0);
  // The refusal names the cluster's limit, not this node's share.
  assert.match(refusal(() => limits.ingestRecords(new Map([['acme', 1]]))).message, /above 100 records\/s/);
  // Query limits follow their own count (1 here): the whole 3/s, burst 6, for the tenant.
  for (const id of ['a', 'a', 'b', 'b', 'c', 'c']) limits.query(key(id), 'acme');
  assert.throws(() => limits.query(key('d'), 'acme'), MeshlogError);
});

test('a share of no nodes, a negative or NaN count never grants more than the whole limit', () => {
  for (const count of [0, -3, Number.NaN, 0.25]) {
    const limits = new RateLimits(settings, () => 0, { nodesTaking: () => count });
    assert.equal(recordsPassing(limits, 'acme', 1000), 200, `count ${count}`);
  }
});

test('a bucket resized to a smaller burst keeps no more than the new burst', () => {
  const bucket = new TokenBucket(10, 20, 0);
  bucket.resize(5, 4, 0);
  for (let i = 0; i < 4; i++) assert.equal(bucket.take(1, 0), 0);
  assert.equal(bucket.take(1, 0), 200);
});
