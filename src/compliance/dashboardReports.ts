import type { BuiltReport } from './soc2Report.js';

/** A dashboard report and when it was generated. */
export interface DashboardReport {
  built: BuiltReport;
  generatedAtMs: number;
}

/**
 * The Compliance dashboard's reports, reused for a few minutes per tenant and
 * period: a report runs a full verify, too heavy to repeat each time the page
 * is opened. Opened at once twice, both wait for one generation.
 */
export class DashboardReports {
  private readonly entries = new Map<string, { tenant: string; pending: Promise<DashboardReport> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached report of this tenant ('' = every tenant) and period, or a new one from `generate` when there is none, it expired, or `refresh`. */
  async get(
    tenant: string,
    periodMs: number,
    refresh: boolean,
    generate: () => Promise<BuiltReport>,
  ): Promise<DashboardReport & { cached: boolean }> {
    const key = `${tenant}\u0000${periodMs}`;
    const entry = this.entries.get(key);
    if (entry && !refresh) {
      const report = await entry.pending.catch(() => undefined);
      if (report && this.now() - report.generatedAtMs < this.ttlMs) return { ...report, cached: true };
    }
    const pending = generate().then((built) => ({ built, generatedAtMs: this.now() }));
    this.entries.set(key, { tenant, pending });
    // A failed generation is not kept: the next opening tries again.
    pending.catch(() => this.entries.get(key)?.pending === pending && this.entries.delete(key));
    return { ...(await pending), cached: false };
  }

  /** A report was generated for this tenant: its dashboards (and those over every tenant) show the next one fresh. */
  invalidate(tenant: string): void {
    for (const [key, entry] of this.entries) if (entry.tenant === tenant || entry.tenant === '' || tenant === '') this.entries.delete(key);
  }
}
