import type { RetentionPolicyDescription, RetentionSectionData } from '../api/reports.js';
import { retentionRules } from '../retention/disposer.js';
import type { RetentionRule } from '../storage/stores/retentionStore.js';
import { auditDetail } from './accessSection.js';
import { configsInForce } from './configsInForce.js';
import { erasureResponses } from './erasureResponses.js';
import type { MeshlogConfig } from '../config/schema.js';
import { isoOfNs, isoOfStored, parseStoredTime, type ReportSection, type SectionInput } from './reportModel.js';

function describeRule(rule: RetentionRule, appliesTo: string): RetentionPolicyDescription {
  const days = rule.maxAgeSeconds / 86_400;
  return {
    policy: rule.name,
    applies_to: appliesTo,
    max_age: Number.isInteger(days) ? `${days}d` : `${rule.maxAgeSeconds}s`,
  };
}

/** The policies a retention configuration sets, as the report lists them. */
function describePolicies(retention: MeshlogConfig['retention']): RetentionPolicyDescription[] {
  const { rules, fallback, audit } = retentionRules(retention);
  return [
    ...rules.map((rule) =>
      describeRule(
        rule,
        [
          `tenant ${rule.tenant}`,
          rule.service && `service ${rule.service}`,
          rule.maxSeverity !== undefined && `severity ≤ ${rule.maxSeverity}`,
        ]
          .filter(Boolean)
          .join(', '),
      ),
    ),
    describeRule(audit, 'meshlog’s own audit trail'),
    describeRule(fallback, 'everything no policy above matches'),
  ];
}

/**
 * Retention and disposal: the policies in force during the period (from the
 * configurations recorded at each start and reload), legal holds, every
 * disposal of the period with the policy it was made under, every erasure
 * request with its response time against its deadline, and any record still
 * stored after its policy expired it (beyond one disposal interval of slack)
 * without a hold to keep it.
 */
export async function retentionSection(input: SectionInput): Promise<ReportSection> {
  const { sources, period, audit } = input;
  const retention = sources.config.retention;
  const { rules, fallback, audit: auditRule } = retentionRules(retention);
  const startMs = Number(period.fromNs / 1_000_000n);
  const endMs = Number(period.toNs / 1_000_000n);
  const ofTenant = (tenant: string) => !period.tenant || tenant === period.tenant;

  const recorded = await configsInForce(input);
  // Before config changes were recorded, only the running configuration is known.
  const policiesInForce =
    recorded.length > 0
      ? recorded.map((entry) => ({
          from: entry.from,
          to: entry.to,
          config_sha256: entry.sha256,
          disposal_interval: `${entry.config.retention.check_interval_ms / 1000}s`,
          policies: describePolicies(entry.config.retention),
        }))
      : [
          {
            from: isoOfNs(period.fromNs),
            to: isoOfNs(period.toNs),
            config_sha256: null,
            disposal_interval: `${retention.check_interval_ms / 1000}s`,
            policies: describePolicies(retention),
          },
        ];
  const policies = policiesInForce.at(-1)!.policies;
  const erasures = await erasureResponses(input, recorded);

  const allHolds = (await sources.retention.holds()).filter((hold) => ofTenant(hold.tenant));
  const holdsInPeriod = allHolds.filter(
    (hold) => parseStoredTime(hold.created_at) <= endMs && (!hold.released_at || parseStoredTime(hold.released_at) >= startMs),
  );
  const activeNow = [
    ...allHolds.filter((hold) => !hold.released_at),
    ...(await sources.recordHolds()).filter((hold) => ofTenant(hold.tenant)),
  ];

  const runs = audit
    .filter((event) => event.action === 'retention.dispose')
    .map((event) => {
      const detail = auditDetail(event);
      return {
        time: event.time,
        trigger: detail.trigger,
        by: event.actor_name || 'retention schedule',
        records: detail.records,
        by_policy: detail.byPolicy,
        holds_in_force: detail.holds,
      };
    });
  const batches = (await sources.queries.disposedBatches(period)).map((row) => {
    const detail = JSON.parse(row.detail) as { policy: string; positions: number[]; trigger: string };
    return {
      at: row.at,
      tenant: row.tenant,
      chain: row.chain_id,
      batch_seq: Number(row.batch_seq),
      policy: detail.policy,
      records: detail.positions.length,
      trigger: detail.trigger,
    };
  });
  const disposedByPolicy: Record<string, number> = {};
  for (const batch of batches) disposedByPolicy[batch.policy] = (disposedByPolicy[batch.policy] ?? 0) + batch.records;

  // A record may outlive its policy by up to one disposal interval: only what is older than that is overdue.
  const expiredBeforeNs = (BigInt(Date.now()) - BigInt(retention.check_interval_ms)) * 1_000_000n;
  const overdueQuery = { rules, fallback, audit: auditRule, expiredBeforeNs, tenant: period.tenant };
  const overdue = await sources.queries.overdueRecords({ ...overdueQuery, holds: activeNow });
  const pastPolicy = await sources.queries.overdueRecords({ ...overdueQuery, holds: [] });
  const count = (rows: { records: number }[]) => rows.reduce((sum, row) => sum + Number(row.records), 0);
  const keptPastPolicy = count(overdue);
  const heldPastPolicy = count(pastPolicy) - keptPastPolicy;

  const data = {
    policies_in_force: policiesInForce,
    policies_source:
      recorded.length > 0
        ? 'config.change events: the configuration in force at the period’s start and every change in it'
        : 'the running server’s configuration (no config.change was recorded before the period)',
    disposal_interval: `${retention.check_interval_ms / 1000}s`,
    erasure_requests: erasures.requests,
    erasure_rule: erasures.rule,
    legal_holds: holdsInPeriod.map((hold) => ({
      id: hold.id,
      name: hold.name,
      tenant: hold.tenant,
      service: hold.service || '(every service)',
      covers: `${hold.from_time ?? 'the beginning'} to ${hold.to_time ?? 'release'}`,
      reason: hold.reason,
      placed_by: hold.created_by,
      placed_at: isoOfStored(hold.created_at),
      released_at: hold.released_at === null ? null : isoOfStored(hold.released_at),
      released_by: hold.released_by || null,
    })),
    legal_hold_changes: audit
      .filter((event) => event.action.startsWith('legal_hold.') && ofTenant(event.tenant))
      .map((event) => ({ time: event.time, action: event.action, by: event.actor_name, hold: event.target })),
    disposal_runs: runs,
    disposed_batches: batches,
    disposed_by_policy: disposedByPolicy,
    kept_past_policy: overdue,
    held_past_policy_records: heldPastPolicy,
    overdue_rule: `records whose policy expired them more than one disposal interval (${retention.check_interval_ms / 1000}s) before the report was generated, and that no active legal hold covers`,
  };
  const base = {
    id: 'retention',
    title: 'Retention and disposal',
    criteria: ['C1.2', 'P4.2', 'P4.3'],
    data: data satisfies RetentionSectionData,
  };
  const disposed = count(batches);
  if (keptPastPolicy > 0) {
    return {
      ...base,
      status: 'fail',
      reason: `${keptPastPolicy} records are kept past their policy (${overdue.map((row) => `${row.policy} in ${row.tenant}: ${row.records}`).join(', ')}) with no legal hold`,
    };
  }
  if (erasures.late.length > 0) {
    return {
      ...base,
      status: 'attention',
      reason: `${erasures.late.length} of ${erasures.requests.length} erasure requests were not executed by their deadline (${erasures.late.map((request) => request.id).join(', ')})`,
    };
  }
  if (!sources.integrity && runs.some((run) => Number(run.records) > 0)) {
    return {
      ...base,
      status: 'attention',
      reason: 'records were disposed of but sealing is off, so no per-batch disposal evidence exists beyond the audit trail',
    };
  }
  const policyText = Object.entries(disposedByPolicy)
    .map(([policy, records]) => `${records} under ${policy}`)
    .join(', ');
  return {
    ...base,
    status: 'pass',
    reason:
      `${policies.length} policies in force${policiesInForce.length > 1 ? ` at the end (${policiesInForce.length} configurations in the period)` : ''}, ${holdsInPeriod.length} legal holds; ${disposed} records disposed in the period${policyText ? ` (${policyText})` : ''}; ` +
      `${erasures.requests.length} erasure requests${erasures.requests.length > 0 ? `, ${erasures.executed} executed by their deadline` : ''}; ` +
      `nothing kept past policy${heldPastPolicy > 0 ? ` except ${heldPastPolicy} records under legal hold` : ''}`,
  };
}
