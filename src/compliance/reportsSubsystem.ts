import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Storage } from '../storage/engine/storage.js';
import type { Leases } from '../cluster/leases.js';
import { storeJobs } from '../cluster/sharedJobs.js';
import { ReportStore } from '../storage/stores/reportStore.js';
import { DashboardReports } from './dashboardReports.js';
import { MonthlyReports } from './monthlyReports.js';
import { reportSources, type ReportedParts } from './reportSources.js';
import { reportRoutes } from './reportRoutes.js';
import { auditExportRoutes } from './auditExportRoutes.js';

/**
 * SOC 2 evidence reports (the `reports` section): the sources a report reads
 * (gathered from the running server's parts, reportSources.ts), stored reports, the
 * Compliance dashboard's cache, the report routes and the audit trail's
 * export (the auditor's populations), and, with `reports.monthly`, the
 * timer that generates each ended month's report.
 */
export function reportsSubsystem(
  config: MeshlogConfig,
  deps: {
    storage: Storage;
    reported: ReportedParts;
    audit: AuditTrail;
    logger: Logger;
    /** A cluster's leases: with a shared ClickHouse, each month's report is generated on one node. */
    leases: Leases | undefined;
  },
) {
  const sources = reportSources(config, deps.storage, deps.reported);
  const store = new ReportStore(deps.storage);
  const dashboard = new DashboardReports(config.reports.dashboard_cache_ms);
  const routes: FastifyPluginAsync = async (app) => {
    reportRoutes(app, { audit: deps.audit, store, dashboard, sources });
    auditExportRoutes(app, sources.auditStore);
  };
  let monthly: MonthlyReports | undefined;
  return {
    routes,
    start(): void {
      if (!config.reports.monthly) return;
      monthly = new MonthlyReports(sources, store, deps.audit, deps.logger, storeJobs(deps.leases, !deps.storage.embedded));
      monthly.start();
    },
    /** A month's report being generated is finished first. */
    async stop(): Promise<void> {
      await monthly?.stop();
    },
  };
}
