import type { Storage } from '../engine/storage.js';

/** One applied logging policy of a tenant (see src/policy/). */
export interface StoredPolicy {
  tenant: string;
  /** meshlog's number: 1, 2, 3… per tenant. */
  version: number;
  /** The author's own version string from the file. */
  label: string;
  sha256: string;
  yaml: string;
  /** JSON of the Ed25519 signature over the version's canonical facts. */
  signature: string;
  /** Unified line diff from the previous version (empty for the first). */
  diff: string;
  applied_at: string;
  applied_by: string;
  applied_by_id: string;
}

export type DriftState = 'open' | 'resolved';

/** One change of a drift finding: opened or resolved. */
export interface DriftEvent {
  tenant: string;
  /** silent_source, low_volume, missing_fields, segregation_of_duties, too_many_holders, erasure_one_person, unretained_stream, missing_alert_rule, missing_redaction. */
  kind: string;
  /** What drifted: a source name, an identity, a stream. */
  subject: string;
  state: DriftState;
  /** What was found, said for a person. */
  detail: string;
  policy_version: number;
  at: string;
}

// Times are read as text under other names: an alias equal to its column would shadow the column in WHERE.
const policyColumns = `tenant, version, label, sha256, yaml, signature, diff, toString(applied_at) AS applied_text, applied_by, applied_by_id`;
const driftColumns = `tenant, kind, subject, state, detail, policy_version, toString(at) AS at_text`;

type PolicyRow = Omit<StoredPolicy, 'applied_at'> & { applied_text: string };
type DriftRow = Omit<DriftEvent, 'at'> & { at_text: string };

const policyOf = ({ applied_text, ...row }: PolicyRow): StoredPolicy => ({
  ...row,
  version: Number(row.version),
  applied_at: applied_text,
});
const driftOf = ({ at_text, ...row }: DriftRow): DriftEvent => ({ ...row, policy_version: Number(row.policy_version), at: at_text });

/** Applied policies and drift events in ClickHouse: both only ever appended. */
export class PolicyStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  async save(policy: StoredPolicy): Promise<void> {
    await this.storage.client.insert({
      table: `${this.db}.policy_versions`,
      format: 'JSONEachRow',
      values: [policy],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  /** The tenant's policy in force at `atMs` (the latest applied at or before it), or the latest of all. */
  async inForce(tenant: string, atMs?: number): Promise<StoredPolicy | undefined> {
    const [row] = await this.storage.rows<PolicyRow>(
      `SELECT ${policyColumns} FROM ${this.db}.policy_versions
       WHERE tenant = {tenant:String} ${atMs === undefined ? '' : 'AND applied_at <= fromUnixTimestamp64Milli({at:Int64})'}
       ORDER BY version DESC LIMIT 1`,
      { tenant, at: atMs ?? 0 },
    );
    return row && policyOf(row);
  }

  /** Every version of the tenant's policy, oldest first, without their text. */
  async history(tenant: string): Promise<Omit<StoredPolicy, 'yaml' | 'diff'>[]> {
    const rows = await this.storage.rows<PolicyRow>(
      `SELECT tenant, version, label, sha256, '' AS yaml, signature, '' AS diff, toString(applied_at) AS applied_text, applied_by, applied_by_id FROM ${this.db}.policy_versions WHERE tenant = {tenant:String} ORDER BY version`,
      { tenant },
    );
    return rows.map((row) => {
      const { yaml: _yaml, diff: _diff, ...version } = policyOf(row);
      return version;
    });
  }

  /** The tenants that have a policy. */
  async tenants(): Promise<string[]> {
    return (await this.storage.rows<{ tenant: string }>(`SELECT DISTINCT tenant FROM ${this.db}.policy_versions ORDER BY tenant`)).map(
      (row) => row.tenant,
    );
  }

  async recordDrift(events: DriftEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.storage.client.insert({
      table: `${this.db}.policy_drift`,
      format: 'JSONEachRow',
      values: events,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  /** Drift events of a period (a tenant's, or every tenant's for ''), oldest first. */
  async driftEvents(tenant: string, fromMs: number, toMs: number): Promise<DriftEvent[]> {
    const rows = await this.storage.rows<DriftRow>(
      `SELECT ${driftColumns} FROM ${this.db}.policy_drift
       WHERE ({tenant:String} = '' OR tenant = {tenant:String}) AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at <= fromUnixTimestamp64Milli({to:Int64})
       ORDER BY at, kind, subject`,
      { tenant, from: fromMs, to: toMs },
    );
    return rows.map(driftOf);
  }

  /** Findings open at `atMs`: each (tenant, kind, subject) whose latest event by then opened it. */
  async openDrift(tenant: string, atMs = Date.now()): Promise<DriftEvent[]> {
    // Aliases differ from the column names: ClickHouse would read argMax(state…) AS state as a cycle.
    const rows = await this.storage.rows<{
      tenant: string;
      kind: string;
      subject: string;
      last_state: DriftState;
      last_detail: string;
      last_version: number;
      last_at: string;
    }>(
      `SELECT tenant, kind, subject, argMax(state, at) AS last_state, argMax(detail, at) AS last_detail, argMax(policy_version, at) AS last_version, toString(max(at)) AS last_at
       FROM ${this.db}.policy_drift
       WHERE ({tenant:String} = '' OR tenant = {tenant:String}) AND at <= fromUnixTimestamp64Milli({at:Int64})
       GROUP BY tenant, kind, subject HAVING last_state = 'open' ORDER BY tenant, kind, subject`,
      { tenant, at: atMs },
    );
    return rows.map((row) => ({
      tenant: row.tenant,
      kind: row.kind,
      subject: row.subject,
      state: row.last_state,
      detail: row.last_detail,
      policy_version: Number(row.last_version),
      at: row.last_at,
    }));
  }
}
