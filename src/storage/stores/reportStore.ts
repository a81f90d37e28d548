import type { Storage } from '../engine/storage.js';
import type { StoredReportFields } from '../../api/reports.js';

/** A stored report without its evidence: what a listing shows. */
export interface StoredReportEntry extends StoredReportFields {
  /** '' = every tenant. */
  tenant: string;
  /** JSON of the report's summary table (section, status, reason). */
  summary: string;
}

export interface StoredReport extends StoredReportEntry {
  /** The JSON evidence exactly as it was hashed. */
  evidence: string;
}

const entryColumns = `id, kind, tenant, toString(period_from) AS period_from, toString(period_to) AS period_to,
  toString(generated_at) AS generated_at, generated_by, sha256, summary`;

/** Generated compliance reports, kept with their evidence so they can be listed and fetched again. */
export class ReportStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  /** Times are ISO strings; ClickHouse reads them with best-effort parsing. */
  async save(report: StoredReport): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.compliance_reports`,
      format: 'JSONEachRow',
      values: [report],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  async list(kind: string): Promise<StoredReportEntry[]> {
    return this.storage.rows<StoredReportEntry>(
      `SELECT ${entryColumns} FROM ${this.db}.compliance_reports WHERE kind = {kind:String} ORDER BY period_from DESC, generated_at DESC`,
      { kind },
    );
  }

  async get(id: string): Promise<StoredReport | undefined> {
    const [report] = await this.storage.rows<StoredReport>(
      `SELECT ${entryColumns}, evidence FROM ${this.db}.compliance_reports WHERE id = {id:String} LIMIT 1`,
      { id },
    );
    return report;
  }

  /** Whether a report of this kind, scope and period was already stored (the scheduler runs it once). */
  async has(kind: string, tenant: string, periodFromMs: number, periodToMs: number): Promise<boolean> {
    const [row] = await this.storage.rows<{ n: number }>(
      `SELECT count() AS n FROM ${this.db}.compliance_reports
       WHERE kind = {kind:String} AND tenant = {tenant:String}
         AND period_from = fromUnixTimestamp64Milli({from:Int64}) AND period_to = fromUnixTimestamp64Milli({to:Int64})`,
      { kind, tenant, from: periodFromMs, to: periodToMs },
      { output_format_json_quote_64bit_integers: 0 },
    );
    return Number(row?.n ?? 0) > 0;
  }
}
