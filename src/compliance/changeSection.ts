import { auditDetail } from './accessSection.js';
import type { ReportSection, SectionInput } from './reportModel.js';

/** Actions that change what meshlog lets in or out: key grants and revocations, configuration reloads. */
const changeActions = /^(keys\.|config\.)/;

/** Change management: every administrative change with who made it, when, and on what. */
export async function changeSection({ audit }: SectionInput): Promise<ReportSection> {
  const changes = audit
    .filter((event) => changeActions.test(event.action))
    .map((event) => ({
      time: event.time,
      action: event.action,
      outcome: event.outcome,
      by: event.actor_name || 'server (signal)',
      by_id: event.actor_id,
      by_kind: event.actor_kind,
      target: event.target,
      detail: auditDetail(event),
    }));
  const adminReads = audit.filter((event) => event.action === 'admin.read').length;
  const shared = changes.filter((change) => change.by_kind === 'admin_token' || change.by_kind === 'anonymous');
  const base = { id: 'changes', title: 'Change management: administrative actions', criteria: ['CC8.1', 'CC6.2'], data: { changes, admin_reads: adminReads } };
  if (shared.length > 0) {
    return { ...base, status: 'attention', reason: `${shared.length} of ${changes.length} changes were made with the shared bootstrap admin token (or without authentication); use named admin keys so each change has a person` };
  }
  return { ...base, status: 'pass', reason: `${changes.length} administrative changes, each attributed to a named identity` };
}
