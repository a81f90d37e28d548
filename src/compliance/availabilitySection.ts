import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import type { ReportSection, SectionInput } from './reportModel.js';

const detailOf = (event: StoredAuditEvent): Record<string, unknown> => {
  try {
    return JSON.parse(event.detail || '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
};

/** A restore is a test that passed when its integrity verification ran and found nothing. */
const restorePassed = (detail: Record<string, unknown>): boolean => {
  const verification = detail.verification as { ok?: boolean } | string | undefined;
  return typeof verification === 'object' && verification.ok === true;
};

/** Repairs of storage the engine left unreadable (a full disk mid-write), each with what it restored. */
const STORAGE_REPAIR_ACTIONS = new Set(['storage.part_repaired', 'storage.batch_reinserted']);

/**
 * Availability: server starts and stops (a start with no stop before it means
 * the previous run ended uncleanly), backups taken, restores onto this data
 * directory and restore tests run elsewhere (`meshlog restore --report-to`),
 * each with its verification; the latest of either is the period's restore
 * test, and every storage repair with the rows it could not restore. Everything comes from audit events of the period, so a closed period
 * always reads the same.
 */
export async function availabilitySection({ audit, period }: SectionInput): Promise<ReportSection> {
  // The first start on a restored data directory records the restore right after itself: it follows the
  // backed-up server's last start with no stop between, and is a restore, not a crash.
  const lifecycleAndRestores = audit.filter(
    (event) => event.action === 'server.start' || event.action === 'server.stop' || event.action === 'backup.restore',
  );
  const lifecycle = lifecycleAndRestores
    .filter((event) => event.action !== 'backup.restore')
    .map((event) => ({
      time: event.time,
      action: event.action,
      restored: lifecycleAndRestores[lifecycleAndRestores.indexOf(event) + 1]?.action === 'backup.restore',
    }));
  const unclean = lifecycle.filter(
    (event, index) => event.action === 'server.start' && !event.restored && index > 0 && lifecycle[index - 1].action === 'server.start',
  );
  const backups = audit
    .filter((event) => event.action === 'backup.create')
    .map((event) => {
      const detail = detailOf(event);
      return {
        time: event.time,
        outcome: event.outcome,
        by: event.actor_name,
        target: event.target,
        tables: detail.tables ?? null,
        rows: detail.rows ?? null,
        manifest_sha256: detail.manifest_sha256 ?? null,
        reason: detail.reason ?? null,
      };
    });
  const backupManifests = new Set(backups.map((backup) => backup.manifest_sha256).filter((hash) => hash !== null));
  // A restore test names the manifest it restored: one of this period's backups, or an older one.
  const restoreTests = audit
    .filter((event) => event.action === 'backup.restore_test')
    .map((event) => {
      const detail = detailOf(event);
      const backup = (detail.backup ?? {}) as { manifest_sha256?: string; created_at?: string; source?: string };
      return {
        time: event.time,
        reported_by: event.actor_name,
        restored_at: detail.restored_at ?? null,
        restored_by: detail.restored_by ?? null,
        host: detail.host ?? null,
        backup_manifest_sha256: backup.manifest_sha256 ?? null,
        backup_created_at: backup.created_at ?? null,
        backup_in_period: backup.manifest_sha256 !== undefined && backupManifests.has(backup.manifest_sha256),
        rows: detail.rows ?? null,
        verification: detail.verification ?? 'not run',
        passed: restorePassed(detail),
      };
    });
  const restores = audit
    .filter((event) => event.action === 'backup.restore')
    .map((event) => {
      const detail = detailOf(event);
      return {
        time: event.time,
        restored_at: detail.restored_at ?? null,
        restored_by: detail.restored_by ?? null,
        backup_created_at: detail.backup_created_at ?? null,
        rows: detail.rows ?? null,
        verification: detail.verification ?? 'not run',
        passed: restorePassed(detail),
      };
    });
  const storageRepairs = audit
    .filter((event) => STORAGE_REPAIR_ACTIONS.has(event.action))
    .map((event) => {
      const detail = detailOf(event);
      const count = (value: unknown) => (typeof value === 'number' ? value : 0);
      const rows = count(detail.rows);
      // A part repair restores what a merge covered and what memory still held; a re-inserted batch restores all it names.
      const restored =
        event.action === 'storage.batch_reinserted' ? rows : Math.min(rows, count(detail.restored_rows) + count(detail.reinserted_rows));
      return { time: event.time, action: event.action, target: event.target, outcome: event.outcome, rows, restored_rows: restored };
    });
  const rowsLost = storageRepairs.reduce((sum, repair) => sum + Math.max(0, repair.rows - repair.restored_rows), 0);
  const failedRepairs = storageRepairs.filter((repair) => repair.outcome !== 'success');
  const failedBackups = backups.filter((backup) => backup.outcome !== 'success');
  const failedRestores = restores.filter((restore) => !restore.passed);
  const failedTests = restoreTests.filter((test) => !test.passed);
  // Audit events come oldest first: the later of the last restore and the last reported test.
  const lastRestoreTest =
    [
      ...restores.map((restore) => ({ kind: 'restore onto this data directory', ...restore })),
      ...restoreTests.map((test) => ({ kind: 'restore test reported by meshlog restore --report-to', ...test })),
    ]
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
      .at(-1) ?? null;
  const base = {
    id: 'availability',
    title: 'Availability: server lifecycle, backups and restore tests',
    criteria: ['A1.2', 'A1.3'],
    data: {
      lifecycle: lifecycle.map(({ time, action, restored }) => (restored ? { time, action, after_restore: true } : { time, action })),
      unclean_restarts: unclean.map((event) => event.time),
      backups: { total: backups.length, succeeded: backups.length - failedBackups.length, failed: failedBackups.length, events: backups },
      restores: { total: restores.length, verified: restores.length - failedRestores.length, events: restores },
      restore_tests: { total: restoreTests.length, passed: restoreTests.length - failedTests.length, events: restoreTests },
      last_restore_test: lastRestoreTest,
      storage_repairs: { total: storageRepairs.length, failed: failedRepairs.length, rows_lost: rowsLost, events: storageRepairs },
      note: 'acknowledged writes are committed before the acknowledgement; an unclean stop loses nothing acknowledged. A restore is recorded by the first server started on the restored data directory, with the integrity verification run on it; a restore test run elsewhere is recorded here when `meshlog restore --report-to` reports it, tied to the backup by its manifest SHA-256.',
    },
  };
  const testsText = restoreTests.length > 0 ? `, ${restoreTests.length} restore tests reported` : '';
  const backupsAndRestores = `${backups.length - failedBackups.length} of ${backups.length} backups succeeded, ${restores.length} restores${testsText} (${lastRestoreTest ? `last restore test ${lastRestoreTest.time}, ${lastRestoreTest.passed ? 'verified' : 'not verified'}` : 'no restore test in the period'})`;
  // A1.2: a period needs a backup. A restored data directory holds no record of the backup it came from
  // (the backup was being taken), but its verified restore of a backup made in the period shows one.
  const inPeriod = (time: unknown): boolean => {
    const ms = typeof time === 'string' ? Date.parse(time) : NaN;
    return Number.isFinite(ms) && BigInt(ms) * 1_000_000n >= period.fromNs && BigInt(ms) * 1_000_000n < period.toNs;
  };
  const backedUp =
    backups.length > failedBackups.length || restores.some((restore) => restore.passed && inPeriod(restore.backup_created_at));
  const findings = [
    backedUp ? '' : 'no backup succeeded in the period (meshlog backup)',
    unclean.length > 0 ? `${unclean.length} restarts without a clean stop (crash or kill)` : '',
    failedBackups.length > 0 ? `${failedBackups.length} failed backups` : '',
    failedRestores.length > 0 ? `${failedRestores.length} restores not verified` : '',
    failedTests.length > 0 ? `${failedTests.length} restore tests failed or not verified` : '',
    failedRepairs.length > 0 ? `${failedRepairs.length} storage repairs did not restore everything (${rowsLost} rows lost)` : '',
  ].filter(Boolean);
  const repairsText = storageRepairs.length > 0 ? `; ${storageRepairs.length} storage repairs, all rows restored` : '';
  if (findings.length > 0) return { ...base, status: 'attention', reason: `${findings.join('; ')}; ${backupsAndRestores}` };
  return { ...base, status: 'pass', reason: `${lifecycle.length} starts and stops, all clean; ${backupsAndRestores}${repairsText}` };
}
