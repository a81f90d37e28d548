import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DashboardResponse, StoredReportListing, StoredReportsResponse } from '../api/reports.js';
import { renderCsvReport } from './csvReport.js';
import { renderHtmlReport } from './htmlReport.js';
import { renderPdfReport } from './pdfReport.js';
import { isoOfNs, maxReportPeriodDays, type ReportSources, type Soc2Report } from './reportModel.js';
import { renderReportBundle } from './reportBundle.js';
import { signReportFile } from '../integrity/reportSignature.js';
import type { DashboardReports } from './dashboardReports.js';
import { buildSoc2Report, type BuiltReport } from './soc2Report.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import { MeshlogError } from '../errors.js';
import { nowNs, parseLokiTime } from '../query/lokiParams.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { anyTenant, tenantFor, type Identity } from '../security/identity.js';
import type { ReportStore } from '../storage/stores/reportStore.js';

export interface ReportRouteDeps {
  sources: ReportSources;
  store: ReportStore;
  audit: AuditTrail;
  /** The Compliance dashboard's recent reports. */
  dashboard: DashboardReports;
}

const formats = ['json', 'html', 'pdf', 'csv', 'bundle'] as const;
type ReportFormat = (typeof formats)[number];

function formatOf(value: string | undefined): ReportFormat {
  const format = value ?? 'json';
  if (!(formats as readonly string[]).includes(format))
    throw new MeshlogError('ML_QUERY_INVALID', `format must be one of ${formats.join(', ')}`);
  return format as ReportFormat;
}

const contentTypes: Record<Exclude<ReportFormat, 'json' | 'bundle'>, string> = {
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  csv: 'text/csv; charset=utf-8',
};

/** One rendering of the generation's model; every one of them derives from the same report and JSON. */
async function renderFile(
  report: Soc2Report,
  json: string,
  sha256: string,
  format: Exclude<ReportFormat, 'json' | 'bundle'>,
): Promise<Buffer> {
  if (format === 'csv') return Buffer.from(renderCsvReport(report, sha256), 'utf8');
  const html = renderHtmlReport(report, json, sha256);
  return format === 'html' ? Buffer.from(html, 'utf8') : renderPdfReport(html);
}

/**
 * The report in the format asked for; every format carries the SHA-256 of the
 * JSON evidence in a header. JSON is signed inside; HTML, PDF and CSV are
 * signed as bytes, the signature sent in headers for the client to keep
 * beside the file; a bundle is every format of this one generation in a ZIP
 * with their signatures inside (what a browser downloads).
 */
async function sendReport(
  reply: FastifyReply,
  report: Soc2Report,
  json: string,
  sha256: string,
  format: ReportFormat,
  signer: NoteSigner,
): Promise<FastifyReply> {
  reply.header('x-meshlog-evidence-sha256', sha256);
  if (format === 'json') return reply.type('application/json').send(json);
  if (format === 'bundle') {
    const bundle = await renderReportBundle(report, json, sha256, signer, renderPdfReport);
    return reply
      .type('application/zip')
      .header(
        'content-disposition',
        `attachment; filename="meshlog-soc2-${report.period.from.slice(0, 10)}-to-${report.period.to.slice(0, 10)}.zip"`,
      )
      .send(bundle);
  }
  const file = await renderFile(report, json, sha256, format);
  const signature = signReportFile(file, signer);
  reply.header('x-meshlog-signature', signature.value).header('x-meshlog-signing-key', signature.key);
  return reply.type(contentTypes[format]).send(file);
}

/** SOC 2 evidence reports (auditor): generated on request, or stored by the monthly schedule; each generation is audited with its evidence hash. */
export function reportRoutes(app: FastifyInstance, deps: ReportRouteDeps): void {
  app.get<{ Querystring: { from?: string; to?: string; tenant?: string; format?: string } }>(
    '/api/v1/reports/soc2',
    { config: { permission: 'audit', tenancy: 'named', auditedByRoute: true } },
    async (request, reply) => {
      try {
        return await generate(request.query, request.identity!, request.tenant, request.ip, reply);
      } catch (error) {
        await deps.audit
          .record({
            action: 'report.generate',
            outcome: 'failure',
            actor: request.identity,
            remoteAddress: request.ip,
            target: 'soc2',
            detail: { reason: (error as Error).message },
          })
          .catch(() => undefined);
        throw error;
      }
    },
  );

  async function generate(
    query: { from?: string; to?: string; tenant?: string; format?: string },
    identity: Identity,
    requestTenant: string,
    remoteAddress: string,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    if (!query.from) throw new MeshlogError('ML_QUERY_INVALID', 'from is required (RFC3339 or Unix time)');
    const fromNs = parseLokiTime(query.from, 0n, 'from');
    const toNs = parseLokiTime(query.to, nowNs(), 'to');
    if (toNs < fromNs) throw new MeshlogError('ML_QUERY_INVALID', 'to must not be before from');
    const days = Number((toNs - fromNs) / 86_400_000_000_000n);
    if (days > maxReportPeriodDays) {
      throw new MeshlogError(
        'ML_QUERY_INVALID',
        `a report covers at most ${maxReportPeriodDays} days (a SOC 2 Type II period is 3 to 12 months); from ${isoOfNs(fromNs)} to ${isoOfNs(toNs)} is ${days} days: report a shorter period`,
      );
    }
    const format = formatOf(query.format);
    const tenant = reportTenant(identity, query.tenant, requestTenant);
    const built = await buildAudited(identity, remoteAddress, { fromNs, toNs, tenant }, { format });
    deps.dashboard.invalidate(tenant);
    return sendReport(reply, built.report, built.json, built.sha256, format, deps.sources.signer);
  }

  /** A report over every tenant ('') shows every tenant's data: only a credential for all tenants may ask for one. */
  function reportTenant(identity: Identity, requested: string | undefined, defaultTenant: string): string {
    if (requested) return tenantFor(identity, requested);
    // Without tenant=, a credential of every tenant reports on all of them, any other on the tenant of its request.
    return identity.tenants.includes(anyTenant) ? '' : defaultTenant;
  }

  async function buildAudited(
    identity: Identity,
    remoteAddress: string,
    period: { fromNs: bigint; toNs: bigint; tenant: string },
    detail: Record<string, unknown>,
  ): Promise<BuiltReport> {
    const built = await buildSoc2Report(deps.sources, period, { id: identity.id, name: identity.name });
    await deps.audit.record({
      action: 'report.generate',
      outcome: 'success',
      actor: identity,
      remoteAddress,
      tenant: period.tenant || anyTenant,
      target: 'soc2',
      detail: { from: built.report.period.from, to: built.report.period.to, ...detail, sha256: built.sha256 },
    });
    return built;
  }

  // The dashboard's report over the last `hours`, generated (and audited) once per tenant and period for
  // reports.dashboard_cache_ms; refresh=true generates a new one. Each view is audited as a read.
  app.get<{ Querystring: { hours?: string; tenant?: string; refresh?: string }; Reply: DashboardResponse }>(
    '/api/v1/reports/soc2/dashboard',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request) => {
      const identity = request.identity!;
      const hours = Number(request.query.hours ?? 24);
      if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 366)
        throw new MeshlogError('ML_QUERY_INVALID', 'hours must be a whole number of hours from 1 to 8784');
      const tenant = reportTenant(identity, request.query.tenant, request.tenant);
      const periodMs = hours * 3_600_000;
      const result = await deps.dashboard.get(tenant, periodMs, request.query.refresh === 'true', () => {
        const toNs = nowNs();
        return buildAudited(
          identity,
          request.ip,
          { fromNs: toNs - BigInt(periodMs) * 1_000_000n, toNs, tenant },
          { format: 'json', dashboard: true },
        );
      });
      return { generatedAt: new Date(result.generatedAtMs).toISOString(), cached: result.cached, report: result.built.report };
    },
  );

  /** Stored reports span every tenant: listing and reading them needs a credential for all tenants. */
  const requireAllTenants = (identity: Identity) => {
    if (!identity.tenants.includes(anyTenant))
      throw new MeshlogError('ML_FORBIDDEN', 'stored reports cover every tenant and need a credential for tenant "*"');
  };

  app.get<{ Reply: StoredReportsResponse }>('/api/v1/reports', { config: { permission: 'audit', tenancy: 'all' } }, async (request) => {
    requireAllTenants(request.identity!);
    const reports = await deps.store.list('soc2');
    return {
      reports: reports.map((entry) => ({
        ...entry,
        tenant: entry.tenant || null,
        summary: JSON.parse(entry.summary) as StoredReportListing['summary'],
      })),
    };
  });

  app.get<{ Params: { id: string }; Querystring: { format?: string } }>(
    '/api/v1/reports/:id',
    { config: { permission: 'audit', tenancy: 'all' } },
    async (request, reply) => {
      requireAllTenants(request.identity!);
      const format = formatOf(request.query.format);
      const stored = await deps.store.get(request.params.id);
      if (!stored) throw new MeshlogError('ML_NOT_FOUND', `no stored report ${request.params.id}`);
      return sendReport(reply, JSON.parse(stored.evidence) as Soc2Report, stored.evidence, stored.sha256, format, deps.sources.signer);
    },
  );
}
