import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { auditColumns, auditPopulations } from './auditPopulations.js';
import { MeshlogError } from '../errors.js';
import { nowNs, parseLokiTime } from '../query/lokiParams.js';
import { anyTenant } from '../security/identity.js';
import type { AuditStore, StoredAuditEvent } from '../storage/stores/auditStore.js';

/** Events read from storage at a time; the export itself has no cap. */
const pageSize = 5_000;

/**
 * `GET /api/v1/audit/export?from=&to=&population=&format=csv|ndjson`: the full
 * population behind a report section over any period, oldest first, streamed
 * page by page (auditors sample from complete populations, so nothing is cut at
 * a count). Auditors of some tenants get their tenants' events only.
 */
export function auditExportRoutes(app: FastifyInstance, auditStore: AuditStore): void {
  app.get<{ Querystring: { from?: string; to?: string; population?: string; format?: string } }>(
    '/api/v1/audit/export',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request, reply) => {
      const { query } = request;
      if (!query.from) throw new MeshlogError('ML_QUERY_INVALID', 'from is required (RFC3339 or Unix time)');
      const sinceNs = parseLokiTime(query.from, 0n, 'from');
      const untilNs = parseLokiTime(query.to, nowNs(), 'to');
      const population = query.population ?? 'all';
      const keep = auditPopulations[population];
      if (!keep) throw new MeshlogError('ML_QUERY_INVALID', `population must be one of ${Object.keys(auditPopulations).join(', ')}`);
      const format = query.format ?? 'ndjson';
      if (format !== 'csv' && format !== 'ndjson')
        throw new MeshlogError('ML_QUERY_INVALID', `format must be csv or ndjson, got "${format}"`);
      const tenants = request.identity!.tenants.includes(anyTenant) ? undefined : request.identity!.tenants;
      const line = (event: StoredAuditEvent) =>
        format === 'csv' ? stringify([auditColumns.map((column) => event[column])]) : `${JSON.stringify(event)}\n`;
      async function* rows(): AsyncGenerator<string> {
        if (format === 'csv') yield stringify([[...auditColumns]]);
        for (let offset = 0; ; offset += pageSize) {
          const page = await auditStore.events({ sinceNs, untilNs, limit: pageSize, tenants, oldestFirstFrom: offset });
          for (const event of page) if (keep(event)) yield line(event);
          if (page.length < pageSize) return;
        }
      }
      return reply
        .header('content-disposition', `attachment; filename="meshlog-audit-${population}.${format === 'csv' ? 'csv' : 'ndjson'}"`)
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .send(Readable.from(rows()));
    },
  );
}
