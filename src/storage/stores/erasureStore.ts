import type { CompiledSql } from '../sql.js';
import { heldCondition, type LegalHold } from './retentionStore.js';
import type { Storage } from '../engine/storage.js';
import type { ErasureRequestFields } from '../../api/erasure.js';
import { randomInt } from 'node:crypto';
import type { LogRecord } from '../../model/logRecord.js';
import type { SpanRecord } from '../../model/spanRecord.js';
import { openLogRow } from '../logs/logRows.js';
import { spanRow } from '../logs/spanRows.js';
import { spanKey } from '../logs/storedSpans.js';

export type { ErasureStatus } from '../../api/erasure.js';

/** The erasure evidence of one batch: which positions went, taken before deleting them. */
export interface ErasedBatch {
  chain_id: string;
  batch_seq: number;
  positions: number[];
}

/** A mined template, by service and id. */
export interface PatternRef {
  service_name: string;
  pattern_id: string;
}

/** A request's scope as conditions over logs and over spans (selector, tenant, time range). */
export interface ErasureMatch {
  tenant: string;
  logs: CompiledSql;
  spans: CompiledSql;
}

/** What an erasure will delete, listed before anything is. */
export interface ErasurePlan {
  batches: ErasedBatch[];
  /** Matching records a legal hold kept. */
  held: number;
  spans: number;
  /** Spans committed up to this instant (ms) are in scope: one committed later is not in the evidence. */
  spansUpToMs: number;
  /** Templates the erased records were mined into. */
  patterns: PatternRef[];
}

export interface ErasureOutcome extends ErasurePlan {
  /** Templates removed because no remaining record was mined into them. */
  patternsRemoved: PatternRef[];
}

/** A request as stored: its scope in ns since the epoch (inclusive), its evidence as JSON once executed. */
export interface ErasureRequest extends ErasureRequestFields {
  from_ns: string;
  to_ns: string;
  evidence: string;
}

export class ErasureStore {
  /** The Memory table `erasableUnstored` evaluates records in, created on first use. */
  private probeTable: Promise<void> | undefined;
  /** The Memory table `erasableSpans` evaluates spans in, created on first use. */
  private spanProbeTable: Promise<void> | undefined;

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
    const rows = await this.storage.rows<
      Omit<ErasureRequest, 'requested_at' | 'execute_after' | 'closed_at'> & {
        requested_ms: string;
        execute_ms: string;
        closed_ms: string | null;
      }
    >(
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
   * Erases what a request's scope matches, except what an active legal hold
   * covers: log records, spans, and mined patterns left with no record. What
   * will go is listed first (records per batch, spans up to now, the patterns
   * the records were mined into), `recordEvidence` stores that list, and only
   * then is exactly that deleted.
   */
  async erase(scope: ErasureMatch, holds: LegalHold[], recordEvidence: (plan: ErasurePlan) => Promise<void>): Promise<ErasureOutcome> {
    const logParams: Record<string, unknown> = { ...scope.logs.params };
    const logsHeld = heldCondition(holds, logParams);
    const erasable = logsHeld ? `${scope.logs.sql} AND NOT ${logsHeld}` : scope.logs.sql;
    const held = logsHeld
      ? Number(
          (
            await this.storage.rows<{ n: string }>(
              `SELECT count() AS n FROM ${this.db}.logs WHERE ${scope.logs.sql} AND ${logsHeld}`,
              logParams,
            )
          )[0].n,
        )
      : 0;
    const batches = await this.storage.rows<ErasedBatch>(
      `SELECT chain_id, batch_seq, arraySort(groupArray(batch_pos)) AS positions
       FROM ${this.db}.logs WHERE ${erasable}
       GROUP BY chain_id, batch_seq ORDER BY chain_id, batch_seq`,
      logParams,
      { output_format_json_quote_64bit_integers: 0 },
    );
    const patterns = await this.storage.rows<PatternRef>(
      `SELECT DISTINCT service_name, pattern_id FROM ${this.db}.logs WHERE ${erasable} AND pattern_id != '' ORDER BY service_name, pattern_id`,
      logParams,
    );
    const spansUpToMs = Date.now();
    const spans = await this.countSpans(scope.spans, holds, spansUpToMs);
    const plan: ErasurePlan = { batches, held, spans, spansUpToMs, patterns };
    if (batches.length === 0 && spans === 0) return { ...plan, patternsRemoved: [] };
    await recordEvidence(plan);
    // Only the batches just recorded: a matching batch committed meanwhile is not covered by the evidence.
    if (batches.length > 0) await this.deletePositions(batches);
    await this.deleteSpans(scope.spans, holds, spansUpToMs);
    return { ...plan, patternsRemoved: (await this.removeOrphanedPatterns(scope.tenant, patterns)).orphaned };
  }

  /**
   * Made again by each process of an embedded store (it holds nothing between two uses), so it always has the
   * columns `logs` has after the latest migration. A shared ClickHouse keeps the one table of all nodes.
   */
  private async createProbeTable(): Promise<void> {
    if (this.storage.embedded) await this.storage.client.command({ query: `DROP TABLE IF EXISTS ${this.db}.erasure_replay_probe` });
    await this.storage.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.db}.erasure_replay_probe AS ${this.db}.logs ENGINE = Memory`,
    });
  }

  /**
   * Which of these records, not stored yet, an erasure's scope would erase
   * (positions in their stream message `seq`): the very conditions `erase`
   * runs over stored rows, run over the records put in a Memory table shaped
   * like logs (so its computed columns, detected_level and the rest, are
   * computed as at insert). Nothing reaches the logs table or the chain.
   */
  async erasableUnstored(scope: ErasureMatch, holds: LegalHold[], seq: number, records: LogRecord[]): Promise<Set<number>> {
    this.probeTable ??= this.createProbeTable();
    await this.probeTable;
    await this.storage.client.insert({
      table: `${this.db}.erasure_replay_probe`,
      format: 'JSONEachRow',
      values: records.map((record) => JSON.parse(`${openLogRow(record)}}`) as Record<string, unknown>),
    });
    try {
      const params: Record<string, unknown> = { ...scope.logs.params, probe_seq: seq };
      const held = heldCondition(holds, params);
      const rows = await this.storage.rows<{ pos: number }>(
        `SELECT stream_pos AS pos FROM ${this.db}.erasure_replay_probe
         WHERE stream_seq = {probe_seq:UInt64} AND ${scope.logs.sql}${held ? ` AND NOT ${held}` : ''}`,
        params,
        { output_format_json_quote_64bit_integers: 0 },
      );
      return new Set(rows.map((row) => Number(row.pos)));
    } finally {
      await this.storage.client.command({
        query: `ALTER TABLE ${this.db}.erasure_replay_probe DELETE WHERE stream_seq = {probe_seq:UInt64}`,
        query_params: { probe_seq: seq },
        clickhouse_settings: { mutations_sync: '2' },
      });
    }
  }

  private async createSpanProbeTable(): Promise<void> {
    if (this.storage.embedded) await this.storage.client.command({ query: `DROP TABLE IF EXISTS ${this.db}.erasure_span_probe` });
    // The spans' columns and one more: the probe a row belongs to (nodes sharing a ClickHouse probe the same table at once).
    await this.storage.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.db}.erasure_span_probe ENGINE = Memory
              AS SELECT *, toUInt64(0) AS probe_id FROM ${this.db}.spans LIMIT 0`,
    });
  }

  /**
   * Which of these spans, not stored yet, an erasure's scope would erase (by
   * `spanKey`): the conditions `erase` runs over stored spans, run over the
   * spans put in a Memory table shaped like spans. Nothing reaches the spans
   * table.
   */
  async erasableSpans(scope: ErasureMatch, holds: LegalHold[], spans: SpanRecord[]): Promise<Set<string>> {
    this.spanProbeTable ??= this.createSpanProbeTable();
    await this.spanProbeTable;
    const probeId = randomInt(1, 2 ** 48);
    await this.storage.client.insert({
      table: `${this.db}.erasure_span_probe`,
      format: 'JSONEachRow',
      values: spans.map((span) => ({ ...(JSON.parse(spanRow(span)) as Record<string, unknown>), probe_id: probeId })),
    });
    try {
      const params: Record<string, unknown> = { ...scope.spans.params, probe_id: probeId };
      const held = heldCondition(holds, params);
      const rows = await this.storage.rows<{ tenant: string; trace_id: string; span_id: string }>(
        `SELECT tenant, trace_id, span_id FROM ${this.db}.erasure_span_probe
         WHERE probe_id = {probe_id:UInt64} AND ${scope.spans.sql}${held ? ` AND NOT ${held}` : ''}`,
        params,
      );
      return new Set(rows.map((row) => spanKey({ tenant: row.tenant, traceId: row.trace_id, spanId: row.span_id })));
    } finally {
      await this.storage.client.command({
        query: `ALTER TABLE ${this.db}.erasure_span_probe DELETE WHERE probe_id = {probe_id:UInt64}`,
        query_params: { probe_id: probeId },
        clickhouse_settings: { mutations_sync: '2' },
      });
    }
  }

  /** Deletes exactly these records (chain, batch, position), what an erasure or disposal recorded; returns how many were still there. */
  async deletePositions(batches: ErasedBatch[]): Promise<number> {
    const records = batches.flatMap((batch) =>
      batch.positions.map((position) => ({ chain: batch.chain_id, seq: batch.batch_seq, position })),
    );
    if (records.length === 0) return 0;
    const where = `has(arrayZip({chains:Array(String)}, {seqs:Array(UInt64)}, {positions:Array(UInt32)}), (chain_id, batch_seq, batch_pos))`;
    const params = { chains: records.map((r) => r.chain), seqs: records.map((r) => r.seq), positions: records.map((r) => r.position) };
    const present = Number(
      (await this.storage.rows<{ n: string }>(`SELECT count() AS n FROM ${this.db}.logs WHERE ${where}`, params))[0].n,
    );
    if (present > 0)
      await this.storage.client.command({
        query: `DELETE FROM ${this.db}.logs WHERE ${where}`,
        query_params: params,
        clickhouse_settings: { mutations_sync: '2' },
      });
    return present;
  }

  /** Spans of the scope committed up to `upToMs`, except those a hold covers; returns how many there were. */
  async deleteSpans(spans: CompiledSql, holds: LegalHold[], upToMs: number): Promise<number> {
    const present = await this.countSpans(spans, holds, upToMs);
    const { where, params } = spanCondition(spans, holds, upToMs);
    if (present > 0)
      await this.storage.client.command({
        query: `DELETE FROM ${this.db}.spans WHERE ${where}`,
        query_params: params,
        clickhouse_settings: { mutations_sync: '2' },
      });
    return present;
  }

  private async countSpans(spans: CompiledSql, holds: LegalHold[], upToMs: number): Promise<number> {
    const { where, params } = spanCondition(spans, holds, upToMs);
    return Number((await this.storage.rows<{ n: string }>(`SELECT count() AS n FROM ${this.db}.spans WHERE ${where}`, params))[0].n);
  }

  /**
   * Removes the stored templates no remaining record of the tenant was mined into
   * (`orphaned` also names those not stored yet, which live miners must drop):
   * a template keeps only the tokens common to every message it matched, so
   * one still matched by a kept record holds nothing of the erased ones.
   */
  async removeOrphanedPatterns(tenant: string, candidates: PatternRef[]): Promise<{ orphaned: PatternRef[]; removed: PatternRef[] }> {
    if (candidates.length === 0) return { orphaned: [], removed: [] };
    const kept = await this.storage.rows<PatternRef>(
      `SELECT DISTINCT service_name, pattern_id FROM ${this.db}.logs
       WHERE tenant = {tenant:String} AND has(arrayZip({services:Array(String)}, {ids:Array(String)}), (service_name, pattern_id))`,
      { tenant, ...patternKeys(candidates) },
    );
    const stored = await this.storage.rows<PatternRef>(
      `SELECT DISTINCT service_name, pattern_id FROM ${this.db}.patterns
       WHERE tenant = {tenant:String} AND has(arrayZip({services:Array(String)}, {ids:Array(String)}), (service_name, pattern_id))`,
      { tenant, ...patternKeys(candidates) },
    );
    const key = (pattern: PatternRef) => `${pattern.service_name}\0${pattern.pattern_id}`;
    const keptKeys = new Set(kept.map(key));
    const storedKeys = new Set(stored.map(key));
    const orphaned = candidates.filter((pattern) => !keptKeys.has(key(pattern)));
    const removed = orphaned.filter((pattern) => storedKeys.has(key(pattern)));
    if (removed.length === 0) return { orphaned, removed };
    await this.storage.client.command({
      query: `DELETE FROM ${this.db}.patterns
              WHERE tenant = {tenant:String} AND has(arrayZip({services:Array(String)}, {ids:Array(String)}), (service_name, pattern_id))`,
      query_params: { tenant, ...patternKeys(removed) },
      clickhouse_settings: { mutations_sync: '2' },
    });
    return { orphaned, removed };
  }
}

function patternKeys(patterns: PatternRef[]): { services: string[]; ids: string[] } {
  return { services: patterns.map((pattern) => pattern.service_name), ids: patterns.map((pattern) => pattern.pattern_id) };
}

function spanCondition(spans: CompiledSql, holds: LegalHold[], upToMs: number): { where: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = { ...spans.params, spans_up_to: upToMs };
  const held = heldCondition(holds, params);
  return {
    where: `${spans.sql} AND ingested_at <= fromUnixTimestamp64Milli({spans_up_to:Int64})${held ? ` AND NOT ${held}` : ''}`,
    params,
  };
}

// Two saves of one request in the same millisecond must still order.
let saveCounter = 0;
