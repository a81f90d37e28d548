import type { SpanRecord } from '../../model/spanRecord.js';
import type { Storage } from '../engine/storage.js';

/** A span's identity: its tenant, trace id and span id. */
export const spanKey = (span: Pick<SpanRecord, 'tenant' | 'traceId' | 'spanId'>) =>
  `${span.tenant}\u0000${span.traceId}\u0000${span.spanId}`;

/**
 * Which of these spans this node's storage holds already (by `spanKey`): a
 * cluster node given a stream message of spans again (it died, or lost the
 * acknowledgement, after the insert) stores only the others. The trace id's
 * bloom filter index keeps the lookup to the granules that may hold them.
 */
export async function storedSpans(storage: Storage, spans: SpanRecord[]): Promise<Set<string>> {
  if (spans.length === 0) return new Set();
  const rows = await storage.rows<{ tenant: string; trace_id: string; span_id: string }>(
    `SELECT DISTINCT tenant, trace_id, span_id FROM ${storage.database}.spans
     WHERE trace_id IN {traces:Array(String)} AND span_id IN {ids:Array(String)} AND tenant IN {tenants:Array(String)}`,
    {
      traces: [...new Set(spans.map((span) => span.traceId))],
      ids: [...new Set(spans.map((span) => span.spanId))],
      tenants: [...new Set(spans.map((span) => span.tenant))],
    },
  );
  return new Set(rows.map((row) => spanKey({ tenant: row.tenant, traceId: row.trace_id, spanId: row.span_id })));
}
