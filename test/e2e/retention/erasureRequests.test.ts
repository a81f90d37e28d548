import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { postOtlpJson } from '../../support/otlpJson.js';
import { readAuditTrail, readCommitted } from '../../support/storageReader.js';
import { waitFor } from '../../support/waitFor.js';
import type { ErasureRequestView } from '../../../src/api/erasure.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const minute = 60_000_000_000n;
const now = BigInt(Date.now()) * 1_000_000n;
const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

/** One OTLP request per tenant: the erased records share a batch with records that stay. */
function records(entries: [service: string, body: string, age: bigint][]): string {
  return JSON.stringify({
    resourceLogs: entries.map(([service, body, age]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeLogs: [{ logRecords: [{ body: { stringValue: body }, severityNumber: 9, timeUnixNano: (now - age).toString() }] }],
    })),
  });
}

async function ingest(meshlog: RunningMeshlog): Promise<void> {
  const acme = records([
    ['checkout', 'order 1 paid by alice', 10n * minute],
    ['catalog', 'catalog viewed', 10n * minute],
    ['checkout', 'order 2 paid by alice', 20n * minute],
    ['checkout', 'order 3 paid by alice, disputed', 120n * minute],
    ['checkout', 'order 0 paid three days ago', 3n * 24n * 60n * minute],
  ]);
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, acme, { 'x-scope-orgid': 'acme' })).status, 200);
  const other = records([['checkout', 'order of another tenant', 10n * minute]]);
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, other, { 'x-scope-orgid': 'other' })).status, 200);
}

async function admin(
  meshlog: RunningMeshlog,
  method: string,
  path: string,
  body?: unknown,
  expected = 200,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, expected, `${path}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function meshlogCli(meshlog: RunningMeshlog, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args, '--server', meshlog.url, '--token', meshlog.token], { encoding: 'utf8' });
}

test('an erasure request gives a receipt, waits out its window, erases exactly its scope with evidence, and verify names it', async () => {
  const meshlog = await startMeshlog();
  await ingest(meshlog);
  // The disputed order is under a legal hold: an erasure request does not override it.
  await admin(
    meshlog,
    'POST',
    '/api/v1/admin/legal-holds',
    {
      name: 'dispute 77',
      tenant: 'acme',
      service: 'checkout',
      from: iso(now - 180n * minute),
      to: iso(now - 90n * minute),
      reason: 'chargeback dispute',
    },
    201,
  );

  const filed = meshlogCli(meshlog, [
    'erasure',
    'request',
    '--tenant',
    'acme',
    '--selector',
    '{service_name="checkout"}',
    '--from',
    '1d',
    '--reason',
    'DSR-1001 (alice)',
    '--output',
    'json',
  ]);
  assert.equal(filed.status, 0, filed.stderr);
  const receipt = JSON.parse(filed.stdout) as ErasureRequestView;
  assert.match(receipt.id, /^er-[0-9a-f]{12}$/);
  assert.equal(receipt.status, 'pending');
  assert.equal(receipt.requested_by, 'bootstrap admin');
  assert.equal(receipt.reason, 'DSR-1001 (alice)');
  // The default cancellation window is 24 hours.
  assert.equal(Date.parse(receipt.execute_after) - Date.parse(receipt.requested_at), 24 * 3600 * 1000);

  const mistaken = (
    await admin(
      meshlog,
      'POST',
      '/api/v1/admin/erasure-requests',
      { tenant: 'acme', selector: '{service_name="catalog"}', from: iso(now - 60n * minute), to: iso(now), reason: 'DSR-1002' },
      201,
    )
  ).request as ErasureRequestView;
  const cancelled = (await admin(meshlog, 'POST', `/api/v1/admin/erasure-requests/${mistaken.id}/cancel`, { reason: 'wrong service' }))
    .request as ErasureRequestView;
  assert.equal(cancelled.status, 'cancelled');
  await admin(meshlog, 'POST', `/api/v1/admin/erasure-requests/${mistaken.id}/execute`, undefined, 409);

  // Bad requests are refused with a reason, and the audit trail is never erasable.
  await admin(
    meshlog,
    'POST',
    '/api/v1/admin/erasure-requests',
    { tenant: 'acme', selector: '{service_name="checkout"} |= "x"', from: iso(now - minute), to: iso(now), reason: 'r' },
    400,
  );
  await admin(
    meshlog,
    'POST',
    '/api/v1/admin/erasure-requests',
    { tenant: '_audit', selector: '{service_name="meshlog"}', from: iso(now - minute), to: iso(now), reason: 'r' },
    403,
  );

  // Within its window a request does not run on schedule.
  assert.deepEqual((await admin(meshlog, 'POST', '/api/v1/admin/erasure-requests/run')).executed, []);

  const executed = meshlogCli(meshlog, ['erasure', 'execute', receipt.id, '--output', 'json']);
  assert.equal(executed.status, 0, executed.stderr);
  const done = JSON.parse(executed.stdout) as ErasureRequestView;
  assert.equal(done.status, 'executed');
  assert.equal(done.closed_by, 'bootstrap admin');
  assert.equal(done.evidence?.records, 2);
  assert.equal(done.evidence?.batches, 1);
  assert.equal(done.evidence?.held, 1);
  assert.equal(done.evidence?.erased[0].records, 2);

  // An auditor reads receipts and evidence but cannot file, cancel or execute.
  const auditor = (await admin(meshlog, 'POST', '/api/v1/admin/keys', { name: 'auditor', roles: ['auditor'], tenants: ['*'] }, 201)) as {
    key: string;
  };
  const asAuditor = (method: string, path: string, body?: unknown) =>
    fetch(`${meshlog.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${auditor.key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  assert.equal((await asAuditor('GET', `/api/v1/admin/erasure-requests/${receipt.id}`)).status, 200);
  assert.equal(
    (
      await asAuditor('POST', '/api/v1/admin/erasure-requests', {
        tenant: 'acme',
        selector: '{service_name="x"}',
        from: iso(now - minute),
        to: iso(now),
        reason: 'r',
      })
    ).status,
    403,
  );

  const listed = meshlogCli(meshlog, ['erasure', 'list']);
  assert.match(listed.stdout, new RegExp(`${receipt.id}\\texecuted\\tacme\\t\\{service_name="checkout"\\}.*\\t2$`, 'm'));
  assert.match(listed.stdout, new RegExp(`${mistaken.id}\\tcancelled`));
  assert.equal(await meshlog.stop(), 0);

  const kept = await readCommitted<{ tenant: string; body: string }>(
    meshlog.dataDir,
    'SELECT tenant, body FROM meshlog.logs ORDER BY tenant, body',
  );
  assert.deepEqual(kept, [
    { tenant: 'acme', body: 'catalog viewed' },
    { tenant: 'acme', body: 'order 0 paid three days ago' },
    { tenant: 'acme', body: 'order 3 paid by alice, disputed' },
    { tenant: 'other', body: 'order of another tenant' },
  ]);

  const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', meshlog.dataDir], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, new RegExp(`^OK .*\\(2 records erased by request ${receipt.id}\\)`, 'm'));

  const audit = await readAuditTrail<{ action: string; target: string; detail: string }>(
    meshlog.dataDir,
    `SELECT log_attributes['audit.action'] AS action, log_attributes['audit.target'] AS target, log_attributes['audit.detail'] AS detail
     FROM meshlog.logs WHERE startsWith(action, 'erasure.') ORDER BY timestamp`,
  );
  assert.deepEqual(
    audit.map((row) => [row.action, row.target]),
    [
      ['erasure.request', receipt.id],
      ['erasure.request', mistaken.id],
      ['erasure.cancel', mistaken.id],
      ['erasure.execute', receipt.id],
    ],
  );
  assert.equal((JSON.parse(audit[0].detail) as { reason: string }).reason, 'DSR-1001 (alice)');
  assert.equal((JSON.parse(audit[3].detail) as { records: number }).records, 2);
});

test('a request runs on its own once its cancellation window has ended', async () => {
  const dir = tempDataDir('meshlog-erasure-');
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'erasure:\n  cancel_window: 0s\n');
  const meshlog = await startMeshlog({ args: ['--config', config] });
  await ingest(meshlog);
  const { request } = (await admin(
    meshlog,
    'POST',
    '/api/v1/admin/erasure-requests',
    { tenant: 'acme', selector: '{service_name="catalog"}', from: iso(now - 60n * minute), to: iso(now), reason: 'DSR-2001' },
    201,
  )) as { request: ErasureRequestView };
  const { executed } = (await admin(meshlog, 'POST', '/api/v1/admin/erasure-requests/run')) as { executed: ErasureRequestView[] };
  assert.deepEqual(
    executed.map((candidate) => [candidate.id, candidate.status, candidate.evidence?.records, candidate.evidence?.trigger]),
    [[request.id, 'executed', 1, 'cancellation window ended']],
  );
  assert.equal(await meshlog.stop(), 0);
  const left = await readCommitted<{ n: string }>(meshlog.dataDir, `SELECT count() AS n FROM meshlog.logs WHERE service_name = 'catalog'`);
  assert.equal(Number(left[0].n), 0);
  const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', meshlog.dataDir], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, new RegExp(`\\(1 records erased by request ${request.id}\\)`));
});

/** OTLP/JSON spans: one resource (service) each. */
function spans(entries: [service: string, traceId: string, name: string, age: bigint][]): string {
  return JSON.stringify({
    resourceSpans: entries.map(([service, traceId, name, age]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId,
              spanId: traceId.slice(0, 16),
              name,
              kind: 2,
              startTimeUnixNano: (now - age).toString(),
              endTimeUnixNano: (now - age + 1_000_000n).toString(),
            },
          ],
        },
      ],
    })),
  });
}

const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => waitFor(probe, { what });

test('an erasure also erases the spans of its scope and the mined templates only erased records were mined into', async () => {
  const dir = tempDataDir('meshlog-erasure-');
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'patterns:\n  flush_interval_ms: 100\n');
  const meshlog = await startMeshlog({ args: ['--config', config] });
  const acme = records([
    ['checkout', 'order 1 paid by card for alice', 10n * minute],
    ['checkout', 'alice asked to close her account', 10n * minute],
    ['checkout', 'order 2 paid by card for bob', 3n * 24n * 60n * minute],
    ['catalog', 'catalog viewed', 10n * minute],
  ]);
  assert.equal((await postOtlpJson(meshlog.url, meshlog.token, acme, { 'x-scope-orgid': 'acme' })).status, 200);
  const traced = await fetch(`${meshlog.url}/v1/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json', 'x-scope-orgid': 'acme' },
    body: spans([
      ['checkout', 'aa'.repeat(16), 'pay for alice', 10n * minute],
      ['checkout', 'bb'.repeat(16), 'pay for bob', 3n * 24n * 60n * minute],
      ['catalog', 'cc'.repeat(16), 'view catalog', 10n * minute],
    ]),
  });
  assert.equal(traced.status, 200, await traced.text());
  const templates = async () => {
    const response = await fetch(`${meshlog.url}/api/v1/patterns?service=checkout`, {
      headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' },
    });
    return ((await response.json()) as { patterns: { template: string }[] }).patterns.map((pattern) => pattern.template).sort();
  };
  const before = await until('both checkout templates stored', async () => ((await templates()).length === 2 ? templates() : undefined));
  assert.ok(
    before.some((template) => template.startsWith('alice asked')),
    before.join(' | '),
  );

  const { request } = (await admin(
    meshlog,
    'POST',
    '/api/v1/admin/erasure-requests',
    { tenant: 'acme', selector: '{service_name="checkout"}', from: iso(now - 60n * minute), to: iso(now), reason: 'DSR-3001 (alice)' },
    201,
  )) as { request: ErasureRequestView };
  const { request: done } = (await admin(meshlog, 'POST', `/api/v1/admin/erasure-requests/${request.id}/execute`)) as {
    request: ErasureRequestView;
  };
  assert.deepEqual([done.evidence?.records, done.evidence?.spans, done.evidence?.patterns], [2, 1, 1]);
  const shown = meshlogCli(meshlog, ['erasure', 'show', request.id]);
  assert.match(shown.stdout, /: 2 records erased from 1 batches, 1 spans, 1 mined templates$/m);
  // The template of alice's request is gone; the one bob's order (outside the scope) still matches stays, holding nothing of alice's.
  const after = await templates();
  assert.equal(after.length, 1, after.join(' | '));
  assert.ok(!after[0].includes('alice') && after[0].startsWith('order'), after[0]);
  // The same message again (after the erasure, outside its scope) starts a new template: the erased one is not written back.
  assert.equal(
    (
      await postOtlpJson(meshlog.url, meshlog.token, records([['checkout', 'alice asked to close her account', minute]]), {
        'x-scope-orgid': 'acme',
      })
    ).status,
    200,
  );
  assert.equal(await meshlog.stop(), 0);

  const erasedId = (
    await readCommitted<{ pattern_id: string }>(meshlog.dataDir, `SELECT pattern_id FROM meshlog.logs WHERE body LIKE 'alice%'`)
  )[0].pattern_id;
  const storedTemplates = await readCommitted<{ pattern_id: string; count: string }>(
    meshlog.dataDir,
    `SELECT pattern_id, toString(count) AS count FROM meshlog.patterns FINAL WHERE tenant = 'acme' AND template LIKE 'alice%'`,
  );
  assert.deepEqual(storedTemplates, [{ pattern_id: erasedId, count: '1' }]);
  const keptSpans = await readCommitted<{ service_name: string; span_name: string }>(
    meshlog.dataDir,
    'SELECT service_name, span_name FROM meshlog.spans ORDER BY span_name',
  );
  assert.deepEqual(keptSpans, [
    { service_name: 'checkout', span_name: 'pay for bob' },
    { service_name: 'catalog', span_name: 'view catalog' },
  ]);
  const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', meshlog.dataDir], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, new RegExp(`\\(2 records erased by request ${request.id}\\)`));
});
