import { MeshlogError } from '../../errors.js';
import type { MaskedLabels, QueryScope } from './compiler.js';
import type { Entry } from './pipeline.js';
import type { QueryBudget } from './queryBudget.js';
import type { SqlRunner } from '../../storage/sql.js';

export interface QueryLimits {
  /** Series a metric query may produce. */
  maxSeries: number;
  /** Rows the engine may read for stages SQL cannot run. */
  maxEngineRows: number;
  /** Points per series of a range query (Loki and Prometheus: 11,000). */
  maxPoints: number;
  /** query.pushdown: ClickHouse also does the work it can prove gives the engine's results; off, the engine does it (docs/querying.md). */
  pushdown: boolean;
}

export const defaultQueryLimits: QueryLimits = { maxSeries: 10_000, maxEngineRows: 2_000_000, maxPoints: 11_000, pushdown: true };

export interface QueryContext {
  database: string;
  tenant: string;
  /** A multi-tenant query's tenants (QueryScope.tenants): read instead of `tenant`, lines labelled `__tenant_id__`. */
  tenants?: readonly string[];
  /** Runs compiled SQL; storage/ provides it, the engine never touches a connection. */
  runner: SqlRunner;
  limits: QueryLimits;
  /** Filled while the query runs: how each part was executed. */
  plan: string[];
  /** Rows read back from ClickHouse. */
  rowsRead: number;
  /** Bytes of log lines read back from ClickHouse (lines ClickHouse aggregated itself are not counted). */
  bytesRead: number;
  /** For a reader who may not unmask: entries are masked before any stage sees them. */
  masking?: QueryMasking;
  /** The query's deadline and cancellation; its JavaScript work yields to the event loop in slices. */
  budget?: QueryBudget;
}

export interface QueryMasking {
  labels: MaskedLabels;
  /** Masks an entry's labels and line in place. */
  maskEntry(entry: Entry): void;
}

/** The SQL scope of one read over [startNs, endNs]: the context's tenants, its reader's masked labels and pushdown setting. */
export function scopeOf(ctx: QueryContext, range: { startNs: bigint; endNs: bigint }): QueryScope {
  return {
    database: ctx.database,
    tenant: ctx.tenant,
    tenants: ctx.tenants,
    masked: ctx.masking?.labels,
    pushdown: ctx.limits.pushdown,
    startNs: range.startNs,
    endNs: range.endNs,
  };
}

/** Rows a query brought into the engine: counted, and refused past the engine's row limit. */
export function countEngineRows<R>(ctx: QueryContext, rows: R[]): R[] {
  ctx.rowsRead += rows.length;
  refusePastEngineRows(ctx, rows.length);
  return rows;
}

/** Refuses a query whose stages need more rows than the engine's row limit, whether the engine or SQL runs them. */
export function refusePastEngineRows(ctx: QueryContext, rows: number): void {
  if (rows > ctx.limits.maxEngineRows) {
    throw new MeshlogError(
      'ML_QUERY_LIMIT',
      `the query needs more than ${ctx.limits.maxEngineRows} rows in the query engine: narrow the selector, time range or line filters`,
    );
  }
}

/** Between two rows or series: lets the event loop turn when the slice has run its time, and stops a cancelled query. */
export async function yieldIfDue(ctx: QueryContext): Promise<void> {
  if (ctx.budget?.due()) await ctx.budget.yield();
}
