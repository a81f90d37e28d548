import { auditDetail } from './accessSection.js';
import type { ReportSection, SectionInput } from './reportModel.js';

/**
 * Audit kinds that are changes, each named for what it changes: who may get in
 * (keys, users, tenants, access reviews), what is kept or erased (legal holds,
 * erasure requests, restores, shredded archive keys), what is watched (alert
 * rules, silences), how the server runs (configuration, storage keys) and the
 * queries users share, the logging policies applied, and the records an
 * incident pins (it holds them from retention, as a legal hold does).
 */
export const changeActions =
  /^(keys\.|users\.|tenants\.|access_review\.|erasure\.(request|cancel|execute)$|legal_hold\.|backup\.restore$|archive\.key_shred$|alert_rules\.|silences\.|config\.|storage\.(key_added|encrypt)$|saved_queries\.|policy\.apply$|incident\.pin$)/;

/** The bootstrap token exists to create the first named admin keys: that use is expected; any other change by it has no person behind it. */
const isBootstrapStep = (change: { action: string; detail: Record<string, unknown> }) =>
  change.action === 'keys.create' && Array.isArray(change.detail.roles) && change.detail.roles.includes('admin');

/** Change management: every administrative change with who made it, when, and on what. */
export async function changeSection({ audit }: SectionInput): Promise<ReportSection> {
  const changes = audit
    .filter((event) => changeActions.test(event.action))
    .map((event) => ({
      time: event.time,
      action: event.action,
      outcome: event.outcome,
      by: event.actor_name || 'server',
      by_id: event.actor_id,
      by_kind: event.actor_kind,
      target: event.target,
      detail: auditDetail(event),
    }));
  const adminReads = audit.filter((event) => event.action === 'admin.read').length;
  const byKind: Record<string, number> = {};
  for (const change of changes) byKind[change.action] = (byKind[change.action] ?? 0) + 1;
  const shared = changes.filter(
    (change) => change.by_kind === 'anonymous' || (change.by_kind === 'admin_token' && !isBootstrapStep(change)),
  );
  const base = {
    id: 'changes',
    title: 'Change management: administrative actions',
    criteria: ['CC8.1', 'CC6.2'],
    data: { total: changes.length, by_kind: byKind, changes, admin_reads: adminReads },
  };
  if (shared.length > 0) {
    return {
      ...base,
      status: 'attention',
      reason: `${shared.length} of ${changes.length} changes were made with the shared bootstrap admin token (or without authentication); create named admin keys with it, then make every change with them`,
    };
  }
  const bootstrap = changes.filter((change) => change.by_kind === 'admin_token').length;
  return {
    ...base,
    status: 'pass',
    reason: `${changes.length} changes of ${Object.keys(byKind).length} kinds, each attributed to a named identity or to the server${bootstrap > 0 ? `; the bootstrap token only created ${bootstrap} named admin keys, its intended use` : ''}`,
  };
}
