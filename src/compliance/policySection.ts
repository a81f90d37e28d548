import type { DriftEvent } from '../storage/stores/policyStore.js';
import { isoOfNs, isoOfStored, type ReportSection, type SectionInput } from './reportModel.js';

const ms = (ns: bigint) => Number(ns / 1_000_000n);

/**
 * The logging policy: which versions were in force during the period (so a
 * reader knows which rules applied), and every drift from them, from the
 * stored drift events: findings open at the period's start and those opened
 * in it, each with when it resolved, if it did.
 */
export async function policySection({ sources, period }: SectionInput): Promise<ReportSection> {
  const base = { id: 'policy', title: 'Logging policy: rules in force and drift from them', criteria: ['CC2.1', 'CC5.3', 'CC7.2'] };
  const store = sources.policy;
  const fromMs = ms(period.fromNs);
  const toMs = ms(period.toNs);
  const tenants = period.tenant ? [period.tenant] : await store.tenants();
  const policies = [];
  for (const tenant of tenants) {
    const atStart = await store.inForce(tenant, fromMs);
    const applied = (await store.history(tenant)).filter((version) => {
      const at = Date.parse(isoOfStored(version.applied_at));
      return at > fromMs && at <= toMs;
    });
    const versions = [...(atStart ? [atStart] : []), ...applied].map((version) => ({
      version: version.version,
      label: version.label,
      sha256: version.sha256,
      applied_at: isoOfStored(version.applied_at),
      applied_by: version.applied_by,
    }));
    if (versions.length > 0) policies.push({ tenant, versions });
  }
  const openAtStart = await store.openDrift(period.tenant, fromMs - 1);
  const events = await store.driftEvents(period.tenant, fromMs, toMs);
  const findings = new Map<
    string,
    { tenant: string; kind: string; subject: string; detail: string; policy_version: number; opened_at: string; resolved_at: string | null }
  >();
  const keyOf = (event: DriftEvent) => `${event.tenant}\0${event.kind}\0${event.subject}`;
  for (const event of [...openAtStart, ...events]) {
    const key = keyOf(event);
    if (event.state === 'open')
      findings.set(key, {
        tenant: event.tenant,
        kind: event.kind,
        subject: event.subject,
        detail: event.detail,
        policy_version: event.policy_version,
        opened_at: isoOfStored(event.at),
        resolved_at: null,
      });
    else {
      const finding = findings.get(key);
      if (finding) finding.resolved_at = isoOfStored(event.at);
    }
  }
  const list = [...findings.values()];
  const byKind: Record<string, number> = {};
  for (const finding of list) byKind[finding.kind] = (byKind[finding.kind] ?? 0) + 1;
  const data = { period: { from: isoOfNs(period.fromNs), to: isoOfNs(period.toNs) }, policies, findings: list, by_kind: byKind };
  // The policy is opt-in: an installation without one is not faulted for it, and the reason says what is missing.
  if (policies.length === 0)
    return {
      ...base,
      data,
      status: 'pass',
      reason:
        'no logging policy was in force, so there was nothing to drift from (meshlog policy apply declares what must be logged, kept and watched)',
    };
  const unresolved = list.filter((finding) => finding.resolved_at === null).length;
  if (list.length > 0) {
    return {
      ...base,
      data,
      status: 'fail',
      reason: `${list.length} drift findings from the logging policy (${Object.entries(byKind)
        .map(([kind, n]) => `${n} ${kind.replaceAll('_', ' ')}`)
        .join(', ')}), ${unresolved} still open at the end of the period`,
    };
  }
  return {
    ...base,
    data,
    status: 'pass',
    reason: `${policies.reduce((n, policy) => n + policy.versions.length, 0)} policy versions in force for ${policies.length} tenants; no drift in the period`,
  };
}
