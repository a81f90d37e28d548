import type { FastifyInstance } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import { MeshlogError } from '../../errors.js';
import { isMetric } from '../logql/evaluateMetric.js';
import type { QueryLimits } from '../logql/queryContext.js';
import type { SqlRunner } from '../../storage/sql.js';
import { parseLogql } from '../logql/parser.js';
import type { QueryBudgets } from '../logql/queryBudget.js';
import { requestQuerier } from './requestQuerier.js';
import { parseLimit, parseRange } from '../lokiParams.js';
import type { AuditTrail } from '../../security/auditTrail.js';

export interface ExportDeps {
  runner: SqlRunner;
  budgets?: QueryBudgets;
  database: string;
  limits: QueryLimits;
  audit: AuditTrail;
}

/** Lines one export may hold. */
export const maxExportLines = 100_000;

interface ExportLine {
  timestampNs: string;
  line: string;
  labels: Record<string, string>;
}

const isoOf = (timestampNs: string) => {
  const ns = BigInt(timestampNs);
  return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
};

function ndjson(lines: ExportLine[]): string {
  return lines
    .map(
      (entry) =>
        `${JSON.stringify({ timestamp: isoOf(entry.timestampNs), timestamp_ns: entry.timestampNs, line: entry.line, labels: entry.labels })}\n`,
    )
    .join('');
}

/** One column per field any line has, after time and line. */
function csv(lines: ExportLine[]): string {
  const names = [...new Set(lines.flatMap((entry) => Object.keys(entry.labels)))].sort();
  const rows = lines.map((entry) => [isoOf(entry.timestampNs), entry.line, ...names.map((name) => entry.labels[name] ?? '')]);
  return stringify([['timestamp', 'line', ...names], ...rows]);
}

/**
 * Exports the lines of a log query as NDJSON or CSV (the UI's Export): a
 * read of logs leaving the platform, so each one is an audit record with
 * the query, range and how many lines went out.
 */
export function exportRoutes(app: FastifyInstance, deps: ExportDeps): void {
  app.get('/api/v1/export', { config: { permission: 'query', tenancy: 'request', auditedByRoute: true } }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const format = query.format ?? 'ndjson';
    if (format !== 'ndjson' && format !== 'csv')
      throw new MeshlogError('ML_QUERY_INVALID', `format must be ndjson or csv, got "${format}"`);
    if (!query.query) throw new MeshlogError('ML_QUERY_INVALID', 'missing required parameter "query"');
    const expr = parseLogql(query.query);
    if (isMetric(expr)) throw new MeshlogError('ML_QUERY_INVALID', 'export needs a log query');
    const range = parseRange(query);
    const limit = parseLimit(query.limit, 5000, maxExportLines);
    // Masked for the reader as Loki answers are.
    const { value: streams } = await requestQuerier(deps, deps.budgets, request, reply).select(expr, range, {
      limit,
      direction: 'backward',
    });
    const lines = streams
      .flatMap((stream) => stream.entries.map(([timestampNs, line]) => ({ timestampNs, line, labels: stream.labels })))
      .sort((a, b) => (BigInt(a.timestampNs) < BigInt(b.timestampNs) ? 1 : -1));
    await deps.audit.record({
      action: 'query.export',
      outcome: 'success',
      actor: request.identity,
      remoteAddress: request.ip,
      tenant: request.tenant,
      target: '/api/v1/export',
      detail: { query: query.query, format, start: range.startNs.toString(), end: range.endNs.toString(), lines: lines.length },
    });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return reply
      .header('content-disposition', `attachment; filename="meshlog-export-${stamp}.${format}"`)
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .send(format === 'csv' ? csv(lines) : ndjson(lines));
  });
}
