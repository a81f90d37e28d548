import type { FastifyInstance, FastifyReply } from 'fastify';
import { renderHtmlReport } from '../../compliance/htmlReport.js';
import type { ReportSources } from '../../compliance/reportModel.js';
import { buildSoc2Report } from '../../compliance/soc2Report.js';
import { MeshlogError } from '../../errors.js';
import { nowNs, parseLokiTime } from '../../query/lokiParams.js';
import type { AuditTrail } from '../../security/auditTrail.js';
import { anyTenant, tenantFor, type Identity } from '../../security/identity.js';

export interface ReportRouteDeps {
  sources: ReportSources;
  audit: AuditTrail;
}

const formats = ['json', 'html'] as const;

/** SOC 2 evidence reports (auditor); each generation is itself an audit event carrying the evidence hash. */
export function reportRoutes(app: FastifyInstance, deps: ReportRouteDeps): void {
  app.get<{ Querystring: { from?: string; to?: string; tenant?: string; format?: string } }>(
    '/api/v1/reports/soc2',
    { config: { auditedByRoute: true } },
    async (request, reply) => {
      try {
        return await sendReport(request.query, request.identity!, request.ip, reply);
      } catch (error) {
        await deps.audit
          .record({ action: 'report.generate', outcome: 'failure', actor: request.identity, remoteAddress: request.ip, target: 'soc2', detail: { reason: (error as Error).message } })
          .catch(() => undefined);
        throw error;
      }
    },
  );

  async function sendReport(query: { from?: string; to?: string; tenant?: string; format?: string }, identity: Identity, remoteAddress: string, reply: FastifyReply): Promise<FastifyReply> {
    if (!query.from) throw new MeshlogError('ML_QUERY_INVALID', 'from is required (RFC3339 or Unix time)');
    const fromNs = parseLokiTime(query.from, 0n, 'from');
    const toNs = parseLokiTime(query.to, nowNs(), 'to');
    if (toNs < fromNs) throw new MeshlogError('ML_QUERY_INVALID', 'to must not be before from');
    const format = query.format ?? 'json';
    if (!(formats as readonly string[]).includes(format)) throw new MeshlogError('ML_QUERY_INVALID', `format must be one of ${formats.join(', ')}`);
    // A report over every tenant shows every tenant's data: only a credential for all tenants may ask for one.
    const tenant = query.tenant ? tenantFor(identity, query.tenant) : '';
    if (!tenant && !identity.tenants.includes(anyTenant)) throw new MeshlogError('ML_FORBIDDEN', 'a report over every tenant needs a credential for tenant "*"; pass tenant=');

    const built = await buildSoc2Report(deps.sources, { fromNs, toNs, tenant }, { id: identity.id, name: identity.name });
    await deps.audit.record({
      action: 'report.generate',
      outcome: 'success',
      actor: identity,
      remoteAddress,
      tenant: tenant || anyTenant,
      target: 'soc2',
      detail: { from: built.report.period.from, to: built.report.period.to, format, sha256: built.sha256 },
    });
    reply.header('x-meshlog-evidence-sha256', built.sha256);
    if (format === 'html') return reply.type('text/html; charset=utf-8').send(renderHtmlReport(built.report, built.json, built.sha256));
    return reply.type('application/json').send(built.json);
  }
}
