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

/**
 * Availability: server starts and stops (a start with no stop before it means
 * the previous run ended uncleanly), backups taken, and restores with their
 * verification, the last one being the period's restore test. Everything
 * comes from audit events of the period, so a closed period always reads the same.
 */
export async function availabilitySection({ audit }: SectionInput): Promise<ReportSection> {
  // The first start on a restored data directory records the restore right after itself: it follows the
  // backed-up server's last start with no stop between, and is a restore, not a crash.
  const lifecycleAndRestores = audit.filter((event) => event.action === 'server.start' || event.action === 'server.stop' || event.action === 'backup.restore');
  const lifecycle = lifecycleAndRestores
    .filter((event) => event.action !== 'backup.restore')
    .map((event) => ({ time: event.time, action: event.action, restored: lifecycleAndRestores[lifecycleAndRestores.indexOf(event) + 1]?.action === 'backup.restore' }));
  const unclean = lifecycle.filter((event, index) => event.action === 'server.start' && !event.restored && index > 0 && lifecycle[index - 1].action === 'server.start');
  const backups = audit
    .filter((event) => event.action === 'backup.create')
    .map((event) => {
      const detail = detailOf(event);
      return { time: event.time, outcome: event.outcome, by: event.actor_name, target: event.target, tables: detail.tables ?? null, rows: detail.rows ?? null, reason: detail.reason ?? null };
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
  const failedBackups = backups.filter((backup) => backup.outcome !== 'success');
  const failedRestores = restores.filter((restore) => !restore.passed);
  const lastRestoreTest = restores.at(-1) ?? null;
  const base = {
    id: 'availability',
    title: 'Availability: server lifecycle, backups and restore tests',
    criteria: ['A1.2', 'A1.3'],
    data: {
      lifecycle: lifecycle.map(({ time, action, restored }) => (restored ? { time, action, after_restore: true } : { time, action })),
      unclean_restarts: unclean.map((event) => event.time),
      backups: { total: backups.length, succeeded: backups.length - failedBackups.length, failed: failedBackups.length, events: backups },
      restores: { total: restores.length, verified: restores.length - failedRestores.length, events: restores },
      last_restore_test: lastRestoreTest,
      note: 'acknowledged writes are committed before the acknowledgement; an unclean stop loses nothing acknowledged. A restore is recorded by the first server started on the restored data directory, with the integrity verification run on it.',
    },
  };
  const backupsAndRestores = `${backups.length - failedBackups.length} of ${backups.length} backups succeeded, ${restores.length} restores (${lastRestoreTest ? `last restore test ${lastRestoreTest.time}, ${lastRestoreTest.passed ? 'verified' : 'not verified'}` : 'no restore test in the period'})`;
  const findings = [
    unclean.length > 0 ? `${unclean.length} restarts without a clean stop (crash or kill)` : '',
    failedBackups.length > 0 ? `${failedBackups.length} failed backups` : '',
    failedRestores.length > 0 ? `${failedRestores.length} restores not verified` : '',
  ].filter(Boolean);
  if (findings.length > 0) return { ...base, status: 'attention', reason: `${findings.join('; ')}; ${backupsAndRestores}` };
  return { ...base, status: 'pass', reason: `${lifecycle.length} starts and stops, all clean; ${backupsAndRestores}` };
}
