import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { spanCommitter } from '../../src/cluster/spanCommit.js';
import type { SpanRecord } from '../../src/model/spanRecord.js';
import { Storage } from '../../src/storage/engine/storage.js';
import { selectQueriesRun } from '../support/selectQueries.js';
import { testTempDir } from '../support/testTempDir.js';

// The span committer of a cluster node over a real embedded ClickHouse.
const logger = pino({ level: 'silent' });
let storage: Storage;

before(async () => {
  storage = await Storage.open(
    { dataDir: testTempDir('meshlog-span-commit-'), database: 'meshlog', encryption: { enabled: false } },
    logger,
  );
});

after(async () => {
  await storage.close();
});

/** One request's spans: one trace, `count` spans. */
function message(count: number, tenant = 'acme'): SpanRecord[] {
  const traceId = randomBytes(16).toString('hex');
  return Array.from({ length: count }, (_, i) => ({
    tenant,
    traceId,
    spanId: randomBytes(8).toString('hex'),
    parentSpanId: '',
    traceState: '',
    name: `span ${i}`,
    kind: 'SERVER',
    startTimeUnixNano: BigInt(Date.now()) * 1_000_000n,
    durationNano: 1_000_000n,
    serviceName: 'checkout',
    resource: {},
    scopeName: '',
    scopeVersion: '',
    attributes: {},
    statusCode: 'OK',
    statusMessage: '',
    events: [],
    receiver: 'otlp_http',
  }));
}

const storedCount = async () => Number((await storage.rows<{ n: string }>('SELECT toString(count()) AS n FROM meshlog.spans'))[0].n);

test('the span messages of one fetch share one lookup, and messages given again store nothing twice', async () => {
  const commit = spanCommitter(storage, async (spans) => spans, logger);
  const fetch = Array.from({ length: 20 }, () => message(3));
  const lookups = await selectQueriesRun(storage, () =>
    Promise.all(fetch.map((spans, i) => commit(spans, i + 1, Date.now()))).then(() => undefined),
  );
  assert.equal(lookups, 1, 'one query for the 20 messages, not one each');
  assert.equal(await storedCount(), 60);

  // Half of them given again (the node died before acknowledging), with new ones and a span of another tenant
  // that has the ids of a stored one: only what is not stored goes in.
  const [stored] = fetch;
  const otherTenant = stored.map((span) => ({ ...span, tenant: 'globex' }));
  const again = [...fetch.slice(0, 10), message(2), otherTenant];
  await Promise.all(again.map((spans, i) => commit(spans, 100 + i, Date.now())));
  assert.equal(await storedCount(), 60 + 2 + 3);
  const perTenant = await storage.rows<{ tenant: string; n: string }>(
    'SELECT tenant, toString(count()) AS n FROM meshlog.spans GROUP BY tenant ORDER BY tenant',
  );
  assert.deepEqual(
    perTenant.map((row) => [row.tenant, Number(row.n)]),
    [
      ['acme', 62],
      ['globex', 3],
    ],
  );
});
