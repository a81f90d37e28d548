import type { TraceLog, TraceSpan } from '../../api/trace.js';
import type { Storage } from '../engine/storage.js';

/** Rows a trace may have before it is cut (a runaway trace must not take the server down). */
export const traceRowLimit = 10_000;

/**
 * Zipkin's 64-bit ids are stored left-padded to 128 bits; logs carry
 * whatever the application printed. Both spellings of a short id match.
 */
function traceIdSpellings(traceId: string): string[] {
  const id = traceId.toLowerCase();
  const ids = [id];
  if (id.length === 16) ids.push(id.padStart(32, '0'));
  if (id.length === 32 && id.startsWith('0000000000000000')) ids.push(id.slice(16));
  // Exact spellings, upper case too, so the trace_id bloom filter index applies.
  return [...ids, ...ids.map((spelling) => spelling.toUpperCase())];
}

/** Every span and log line of one trace in one tenant, oldest first. */
export class TraceQueries {
  constructor(private readonly storage: Storage) {}

  async trace(tenant: string, traceId: string): Promise<{ spans: TraceSpan[]; logs: TraceLog[] }> {
    const db = this.storage.database;
    const params = { tenant, ids: traceIdSpellings(traceId), limit: traceRowLimit };
    const [spans, logs] = await Promise.all([
      this.storage.rows<TraceSpan>(
        `SELECT toString(toUnixTimestamp64Nano(timestamp)) AS start_ns, toString(duration_ns) AS duration_ns, trace_id, span_id, parent_span_id,
           span_name, span_kind, service_name, status_code, status_message, span_attributes, resource_attributes,
           arrayMap(t -> toString(toUnixTimestamp64Nano(t)), events_timestamp) AS events_ns, events_name
         FROM ${db}.spans WHERE tenant = {tenant:String} AND trace_id IN {ids:Array(String)}
         ORDER BY timestamp LIMIT {limit:UInt32}`,
        params,
      ),
      this.storage.rows<TraceLog>(
        `SELECT toString(toUnixTimestamp64Nano(timestamp)) AS ts, body, service_name, severity_text, severity_number, trace_id, span_id,
           log_attributes, resource_attributes
         FROM ${db}.logs WHERE tenant = {tenant:String} AND trace_id IN {ids:Array(String)}
         ORDER BY timestamp LIMIT {limit:UInt32}`,
        params,
      ),
    ]);
    return { spans, logs };
  }
}
