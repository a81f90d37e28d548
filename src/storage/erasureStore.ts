import type { CompiledSql } from '../query/logql/compiler.js';
import { heldCondition, type LegalHold } from './retentionStore.js';
import type { Storage } from './storage.js';

export type ErasureStatus = 'pending' | 'cancelled' | 'executed';

/** The erasure evidence of one batch: which positions went, taken before deleting them. */
export interface ErasedBatch {
  chain_id: string;
  batch_seq: number;
  positions: number[];
}

export interface ErasureRequest {
  id: string;
  tenant: string;
  /** LogQL stream selector, e.g. {service_name="checkout", user="u-42"}. */
  selector: string;
  /** Inclusive range, ns since the epoch. */
  from_ns: string;
  to_ns: string;
  reason: string;
  requested_by: string;
  requested_at: string;
  /** End of the cancellation window: the request runs on its own from then on. */
  execute_after: string;
  status: ErasureStatus;
  closed_by: string;
  closed_at: string | null;
  cancel_reason: string;
  /** JSON of ErasureEvidence once executed. */
  evidence: string;
}

export class ErasureStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  async save(request: ErasureRequest): Promise<void> {
    const { from_ns, to_ns, ...rest } = request;
    await this.storage.client.insert({
      table: `${this.db}.erasure_requests`,
      format: 'JSONEachRow',
      values: [{ ...rest, from_time: from_ns, to_time: to_ns, version: Date.now() * 1000 + (saveCounter++ % 1000) }],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  async list(): Promise<ErasureRequest[]> {
    const rows = await this.storage.rows<Omit<ErasureRequest, 'requested_at' | 'execute_after' | 'closed_at'> & { requested_ms: string; execute_ms: string; closed_ms: string | null }>(
      `SELECT id, tenant, selector, toString(toUnixTimestamp64Nano(from_time)) AS from_ns, toString(toUnixTimestamp64Nano(to_time)) AS to_ns,
              reason, requested_by, toString(toUnixTimestamp64Milli(requested_at)) AS requested_ms,
              toString(toUnixTimestamp64Milli(execute_after)) AS execute_ms, status, closed_by,
              toString(toUnixTimestamp64Milli(closed_at)) AS closed_ms, cancel_reason, evidence
       FROM ${this.db}.erasure_requests FINAL ORDER BY requested_at, id`,
    );
    const iso = (ms: string) => new Date(Number(ms)).toISOString();
    return rows.map(({ requested_ms, execute_ms, closed_ms, ...row }) => ({
      ...row,
      requested_at: iso(requested_ms),
      execute_after: iso(execute_ms),
      closed_at: closed_ms === null ? null : iso(closed_ms),
    }));
  }

  /**
   * Erases the records a selector condition matches, except those under an
   * active legal hold: the matching records are listed per batch first,
   * `recordEvidence` stores that list, and only then are exactly those
   * records deleted. Returns the erased batches and how many records a hold kept.
   */
  async erase(
    matching: CompiledSql,
    holds: LegalHold[],
    recordEvidence: (batches: ErasedBatch[]) => Promise<void>,
  ): Promise<{ batches: ErasedBatch[]; held: number }> {
    const params: Record<string, unknown> = { ...matching.params };
    const held = heldCondition(holds, params);
    const erasable = held ? `${matching.sql} AND NOT ${held}` : matching.sql;
    const heldCount = held
      ? Number((await this.storage.rows<{ n: string }>(`SELECT count() AS n FROM ${this.db}.logs WHERE ${matching.sql} AND ${held}`, params))[0].n)
      : 0;
    const batches = await this.storage.rows<ErasedBatch>(
      `SELECT chain_id, batch_seq, arraySort(groupArray(batch_pos)) AS positions
       FROM ${this.db}.logs WHERE ${erasable}
       GROUP BY chain_id, batch_seq ORDER BY chain_id, batch_seq`,
      params,
      { output_format_json_quote_64bit_integers: 0 },
    );
    if (batches.length === 0) return { batches, held: heldCount };
    await recordEvidence(batches);
    // Only the batches just recorded: a matching batch committed meanwhile is not covered by the evidence.
    await this.storage.client.command({
      query: `DELETE FROM ${this.db}.logs WHERE ${erasable}
              AND has(arrayZip({chains:Array(String)}, {seqs:Array(UInt64)}), (chain_id, batch_seq))`,
      query_params: { ...params, chains: batches.map((batch) => batch.chain_id), seqs: batches.map((batch) => batch.batch_seq) },
      clickhouse_settings: { mutations_sync: '2' },
    });
    return { batches, held: heldCount };
  }
}

// Two saves of one request in the same millisecond must still order.
let saveCounter = 0;
