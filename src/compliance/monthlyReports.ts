import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditTrail } from '../security/auditTrail.js';
import type { ReportStore, StoredReport } from '../storage/stores/reportStore.js';
import type { ReportSources } from './reportModel.js';
import { buildSoc2Report, type BuiltReport } from './soc2Report.js';

/** How often the scheduler looks for a month without its report (it also looks at start, to catch up). */
const checkIntervalMs = 3_600_000;

export function storedReportOf(built: BuiltReport): StoredReport {
  const { report } = built;
  return {
    id: randomUUID(),
    kind: report.report,
    tenant: report.tenant ?? '',
    period_from: report.period.from,
    period_to: report.period.to,
    generated_at: report.generated_at,
    generated_by: report.generated_by.name,
    sha256: built.sha256,
    summary: JSON.stringify(report.summary),
    evidence: built.json,
  };
}

/** The calendar month (UTC) before the one `nowMs` falls in: [first ms, last ms]. */
export function previousMonth(nowMs: number): { fromMs: number; toMs: number } {
  const now = new Date(nowMs);
  const thisMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  return { fromMs: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1), toMs: thisMonth - 1 };
}

/**
 * Monthly SOC 2 reports over every tenant: once a month has ended, its report
 * is generated, stored with its evidence and audited, exactly once.
 */
export class MonthlyReports {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sources: ReportSources,
    private readonly store: ReportStore,
    private readonly audit: AuditTrail,
    private readonly logger: Logger,
    /** In a cluster on a shared ClickHouse: generation takes a lease, so one node writes the month's report. */
    private readonly runOnce: (name: string, job: () => Promise<unknown>) => Promise<unknown> = (_name, job) => job(),
  ) {}

  start(): void {
    const check = () => {
      this.running = this.running
        .then(async () => void (await this.runOnce('monthly-soc2-report', () => this.generateDue())))
        .catch((error: unknown) => this.logger.error({ reason: (error as Error).message }, 'monthly report failed'));
    };
    check();
    this.timer = setInterval(check, checkIntervalMs);
    this.timer.unref();
  }

  /** Stops the schedule and waits for a report being written. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async generateDue(): Promise<void> {
    const { fromMs, toMs } = previousMonth(Date.now());
    if (await this.store.has('soc2', '', fromMs, toMs)) return;
    const period = { fromNs: BigInt(fromMs) * 1_000_000n, toNs: BigInt(toMs) * 1_000_000n + 999_999n, tenant: '' };
    const built = await buildSoc2Report(this.sources, period, { id: 'scheduler', name: 'meshlog monthly schedule' });
    const stored = storedReportOf(built);
    await this.store.save(stored);
    await this.audit.record({
      action: 'report.generate',
      outcome: 'success',
      target: 'soc2',
      detail: { id: stored.id, from: stored.period_from, to: stored.period_to, sha256: built.sha256, scheduled: true },
    });
    this.logger.info(
      { id: stored.id, from: stored.period_from, to: stored.period_to, sha256: built.sha256 },
      'monthly SOC 2 report stored',
    );
  }
}
