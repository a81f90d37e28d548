import { auditDetail } from './accessSection.js';
import type { ReportSection, SectionInput } from './reportModel.js';

/** Data access review: who read which tenant, how often, with what outcome; every read must name its reader. */
export async function dataAccessSection({ sources, period, audit }: SectionInput): Promise<ReportSection> {
  const reads = (await sources.queries.readsByIdentity(period)).map((row) => ({ ...row, requests: Number(row.requests) }));
  const byTenant: Record<string, { identities: string[]; requests: number }> = {};
  // Queries and exports both take a tenant's records out: an export (CSV, NDJSON, archive) is a read of many at once.
  for (const read of reads.filter((row) => row.action === 'query' || row.action.endsWith('.export'))) {
    const entry = (byTenant[read.tenant || '(none)'] ??= { identities: [], requests: 0 });
    if (!entry.identities.includes(read.actor_name)) entry.identities.push(read.actor_name);
    entry.requests += read.requests;
  }
  const anonymous = reads.filter((row) => !row.actor_id || row.actor_id === 'anonymous');
  const base = {
    id: 'data_access',
    title: 'Data access review: who read which tenant',
    criteria: ['CC6.1', 'CC6.3', 'C1.1'],
    data: {
      reads,
      queries_by_tenant: byTenant,
      exports: reads.filter((row) => row.action.endsWith('.export')),
      reports_generated: audit
        .filter((event) => event.action === 'report.generate' && (!period.tenant || event.tenant === period.tenant))
        .map((event) => ({
          time: event.time,
          by: event.actor_name || 'monthly schedule',
          outcome: event.outcome,
          tenant: event.tenant,
          ...auditDetail(event),
        })),
    },
  };
  if (anonymous.length > 0) {
    const requests = anonymous.reduce((sum, row) => sum + row.requests, 0);
    return { ...base, status: 'fail', reason: `${requests} reads were made without an identity (authentication is off or bypassed)` };
  }
  const total = reads.reduce((sum, row) => sum + row.requests, 0);
  const identities = new Set(reads.map((row) => row.actor_id)).size;
  return { ...base, status: 'pass', reason: `${total} reads by ${identities} identities, each attributed to a named credential` };
}
