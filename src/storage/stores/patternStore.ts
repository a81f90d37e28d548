import type { PatternSummary } from '../../model/patternSummary.js';
import type { Storage } from '../engine/storage.js';

interface PatternRow {
  tenant: string;
  service_name: string;
  pattern_id: string;
  latest_template: string;
  first_seen_ms: string;
  last_seen_ms: string;
  seen: string;
}

function summaryOf(row: PatternRow): PatternSummary {
  return {
    tenant: row.tenant,
    serviceName: row.service_name,
    patternId: row.pattern_id,
    template: row.latest_template,
    firstSeenMs: Number(row.first_seen_ms),
    lastSeenMs: Number(row.last_seen_ms),
    count: Number(row.seen),
  };
}

// The latest version of each template (ReplacingMergeTree merges lazily, so pick it here);
// aliases differ from the column names so aggregates read the columns.
const latestColumns = `tenant, service_name, pattern_id, argMax(template, last_seen) AS latest_template,
  toString(toUnixTimestamp64Milli(min(first_seen))) AS first_seen_ms, toString(toUnixTimestamp64Milli(max(last_seen))) AS last_seen_ms,
  toString(max(count)) AS seen`;

/** Mined log templates per tenant and service: what "top patterns" and "new since" read. */
export class PatternStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  async upsert(summaries: PatternSummary[]): Promise<void> {
    if (summaries.length === 0) return;
    await this.storage.client.insert({
      table: `${this.db}.patterns`,
      format: 'JSONEachRow',
      values: summaries.map((summary) => ({
        tenant: summary.tenant,
        service_name: summary.serviceName,
        pattern_id: summary.patternId,
        template: summary.template,
        first_seen: summary.firstSeenMs,
        last_seen: summary.lastSeenMs,
        count: summary.count,
      })),
    });
  }

  /** Every template, to seed the miners at start. */
  async all(): Promise<PatternSummary[]> {
    const rows = await this.storage.rows<PatternRow>(
      `SELECT ${latestColumns} FROM ${this.db}.patterns GROUP BY tenant, service_name, pattern_id`,
    );
    return rows.map(summaryOf);
  }

  /** Templates of a tenant by id. */
  async byIds(tenant: string, ids: string[]): Promise<Map<string, PatternSummary>> {
    if (ids.length === 0) return new Map();
    const rows = await this.storage.rows<PatternRow>(
      `SELECT ${latestColumns} FROM ${this.db}.patterns
       WHERE tenant = {tenant:String} AND pattern_id IN {ids:Array(String)}
       GROUP BY tenant, service_name, pattern_id`,
      { tenant, ids },
    );
    return new Map(rows.map((row) => [row.pattern_id, summaryOf(row)]));
  }

  /** A tenant's templates, most frequent first; `firstSeenSinceMs` keeps only those first seen since then ("new since yesterday"). */
  async list(tenant: string, options: { serviceName?: string; firstSeenSinceMs?: number; limit: number }): Promise<PatternSummary[]> {
    const rows = await this.storage.rows<PatternRow>(
      `SELECT ${latestColumns} FROM ${this.db}.patterns
       WHERE tenant = {tenant:String} AND ({service:Nullable(String)} IS NULL OR service_name = {service:Nullable(String)})
       GROUP BY tenant, service_name, pattern_id
       HAVING toUnixTimestamp64Milli(min(first_seen)) >= {since:Int64}
       ORDER BY max(count) DESC, pattern_id
       LIMIT {limit:UInt32}`,
      { tenant, service: options.serviceName ?? null, since: options.firstSeenSinceMs ?? 0, limit: options.limit },
    );
    return rows.map(summaryOf);
  }
}
