import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availabilitySection } from '../../src/compliance/availabilitySection.js';
import type { SectionInput } from '../../src/compliance/reportModel.js';
import type { StoredAuditEvent } from '../../src/storage/stores/auditStore.js';

/** Audit events as the server writes them: a clean start and stop around what happened. */
function event(time: string, action: string, outcome = 'success', target = '', detail: Record<string, unknown> = {}): StoredAuditEvent {
  return {
    time,
    action,
    outcome,
    actor_id: 'meshlog',
    actor_name: 'meshlog',
    actor_kind: 'system',
    remote_address: '',
    tenant: '',
    target,
    detail: JSON.stringify(detail),
  };
}

const period = {
  fromNs: BigInt(Date.parse('2026-10-01T00:00:00.000Z')) * 1_000_000n,
  toNs: BigInt(Date.parse('2026-10-02T00:00:00.000Z')) * 1_000_000n,
};
const section = (audit: StoredAuditEvent[]) => availabilitySection({ audit, period } as unknown as SectionInput);
/** The period's nightly backup: without one, availability is a finding whatever else happened. */
const nightlyBackup = () =>
  event('2026-10-01T01:30:00.000Z', 'backup.create', 'success', '/backups/nightly', { manifest_sha256: 'ab'.repeat(32) });

test('a storage repair that restored every row is listed and the section still passes', async () => {
  const result = await section([
    event('2026-10-01T00:00:00.000Z', 'server.start'),
    event('2026-10-01T01:00:00.000Z', 'storage.part_repaired', 'success', 'logs/all_1_4_1', { rows: 40, restored_rows: 40 }),
    nightlyBackup(),
    event('2026-10-01T02:00:00.000Z', 'server.stop'),
  ]);
  assert.equal(result.status, 'pass');
  assert.match(result.reason, /1 storage repairs, all rows restored/);
  assert.deepEqual(result.data.storage_repairs, {
    total: 1,
    failed: 0,
    rows_lost: 0,
    events: [
      {
        time: '2026-10-01T01:00:00.000Z',
        action: 'storage.part_repaired',
        target: 'logs/all_1_4_1',
        outcome: 'success',
        rows: 40,
        restored_rows: 40,
      },
    ],
  });
});

test('a storage repair that lost rows is a finding with the rows lost, so a disk-full episode cannot pass unseen', async () => {
  const result = await section([
    event('2026-10-01T00:00:00.000Z', 'server.start'),
    event('2026-10-01T01:00:00.000Z', 'storage.part_repaired', 'failure', 'seal_batches/all_7_7_0', { rows: 10, restored_rows: 0 }),
    event('2026-10-01T01:05:00.000Z', 'storage.part_repaired', 'success', 'logs/all_1_4_1', { rows: 40, restored_rows: 40 }),
    event('2026-10-01T02:00:00.000Z', 'server.stop'),
  ]);
  assert.equal(result.status, 'attention');
  assert.match(result.reason, /1 storage repairs did not restore everything \(10 rows lost\)/);
  const repairs = result.data.storage_repairs as { total: number; failed: number; rows_lost: number };
  assert.equal(repairs.total, 2);
  assert.equal(repairs.failed, 1);
  assert.equal(repairs.rows_lost, 10);
});

test('a period without storage repairs reports none and says nothing of them', async () => {
  const result = await section([
    event('2026-10-01T00:00:00.000Z', 'server.start'),
    nightlyBackup(),
    event('2026-10-01T02:00:00.000Z', 'server.stop'),
  ]);
  assert.equal(result.status, 'pass');
  assert.doesNotMatch(result.reason, /storage repairs/);
  assert.deepEqual(result.data.storage_repairs, { total: 0, failed: 0, rows_lost: 0, events: [] });
});

test('rows re-inserted from memory after a full disk count as restored, in the part repair and as their own batch event', async () => {
  const result = await section([
    event('2026-10-01T00:00:00.000Z', 'server.start'),
    event('2026-10-01T01:00:00.000Z', 'storage.part_repaired', 'success', 'logs/all_9_9_0', {
      rows: 20,
      restored_rows: 0,
      reinserted_rows: 20,
    }),
    event('2026-10-01T01:00:01.000Z', 'storage.batch_reinserted', 'success', 'logs', { rows: 20, batch_rows: 20, batches: [] }),
    nightlyBackup(),
    event('2026-10-01T02:00:00.000Z', 'server.stop'),
  ]);
  assert.equal(result.status, 'pass', result.reason);
  const repairs = result.data.storage_repairs as { total: number; rows_lost: number; events: { action: string; restored_rows: number }[] };
  assert.equal(repairs.total, 2);
  assert.equal(repairs.rows_lost, 0);
  assert.deepEqual(
    repairs.events.map((repair) => [repair.action, repair.restored_rows]),
    [
      ['storage.part_repaired', 20],
      ['storage.batch_reinserted', 20],
    ],
  );
});

test('a period without a successful backup is a finding (A1.2), unless a verified restore shows a backup made in it', async () => {
  const failedOnly = await section([
    event('2026-10-01T00:00:00.000Z', 'server.start'),
    event('2026-10-01T01:30:00.000Z', 'backup.create', 'failure', '/backups/nightly', { reason: 'disk full' }),
    event('2026-10-01T02:00:00.000Z', 'server.stop'),
  ]);
  assert.equal(failedOnly.status, 'attention');
  assert.match(failedOnly.reason, /^no backup succeeded in the period \(meshlog backup\); 1 failed backups; 0 of 1 backups succeeded/);

  // A restored data directory: the backup it came from was taken in the period, but its own record of it was not yet written.
  const restoredAt = (backupCreatedAt: string, ok: boolean) =>
    section([
      event('2026-10-01T00:00:00.000Z', 'server.start'),
      event('2026-10-01T03:00:00.000Z', 'server.start'),
      event('2026-10-01T03:00:01.000Z', 'backup.restore', 'success', '', {
        backup_created_at: backupCreatedAt,
        verification: { ok, findings: ok ? 0 : 1 },
      }),
    ]);
  assert.equal((await restoredAt('2026-10-01T01:30:00.000Z', true)).status, 'pass');
  const olderBackup = await restoredAt('2026-09-20T01:30:00.000Z', true);
  assert.equal(olderBackup.status, 'attention', "a backup from before the period is not this period's");
  assert.match(olderBackup.reason, /^no backup succeeded in the period/);
  assert.match((await restoredAt('not a time', true)).reason, /^no backup succeeded in the period/);
  assert.match(
    (await restoredAt('2026-10-01T01:30:00.000Z', false)).reason,
    /^no backup succeeded in the period \(meshlog backup\); 1 restores not verified/,
  );
});
