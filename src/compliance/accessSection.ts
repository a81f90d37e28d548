import { anyTenant } from '../security/identity.js';
import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import { parseStoredTime, type ReportSection, type SectionInput } from './reportModel.js';

const dayMs = 86_400_000;
export const unusedKeyDays = 90;
/** Failed logins from one address at which the section asks for a look (guessing, or a shipper with a stale key). */
const failuresPerAddressWorthALook = 5;
const maxEventsListed = 200;

export function auditDetail(event: StoredAuditEvent): Record<string, unknown> {
  try {
    return event.detail ? (JSON.parse(event.detail) as Record<string, unknown>) : {};
  } catch {
    return { raw: event.detail };
  }
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/**
 * Access: every key with its roles and tenants as of the end of the period,
 * grants and revocations during it, keys unused for 90 days, failed logins
 * and refused requests.
 */
export async function accessSection({ sources, period, audit }: SectionInput): Promise<ReportSection> {
  const endMs = Number(period.toNs / 1_000_000n);
  const unusedSince = endMs - unusedKeyDays * dayMs;
  const concerns = (tenants: string[]) => !period.tenant || tenants.includes(anyTenant) || tenants.includes(period.tenant);
  const keys = sources
    .keys()
    .filter((key) => parseStoredTime(key.created_at) <= endMs && concerns(key.tenants))
    .map((key) => {
      const revoked = key.revoked_at !== null && parseStoredTime(key.revoked_at) <= endMs;
      const expired = key.expires_at !== null && parseStoredTime(key.expires_at) <= endMs;
      return {
        id: key.id,
        name: key.name,
        roles: key.roles,
        tenants: key.tenants,
        created_by: key.created_by,
        created_at: key.created_at,
        expires_at: key.expires_at,
        revoked_at: key.revoked_at,
        revoked_by: key.revoked_by,
        last_used_at: key.last_used_at,
        state_at_period_end: revoked ? 'revoked' : expired ? 'expired' : 'active',
      };
    });
  const active = keys.filter((key) => key.state_at_period_end === 'active');
  const lastUse = (key: (typeof keys)[number]) => (key.last_used_at === null ? undefined : parseStoredTime(key.last_used_at));
  const unused = active.filter((key) => (lastUse(key) ?? parseStoredTime(key.created_at)) <= unusedSince);
  const neverUsed = active.filter((key) => key.last_used_at === null);

  const ofAction = (action: string) => audit.filter((event) => event.action === action);
  const keyEvent = (event: StoredAuditEvent): Record<string, unknown> => ({ time: event.time, by: event.actor_name, by_id: event.actor_id, key_id: event.target, ...auditDetail(event) });
  const grants = ofAction('keys.create').map(keyEvent).filter((grant) => concerns((grant.tenants as string[] | undefined) ?? [anyTenant]));
  const revocations = ofAction('keys.revoke').map(keyEvent);
  const failures = ofAction('auth.failure');
  const denials = ofAction('access.denied');
  const failuresByAddress = countBy(failures, (event) => event.remote_address || 'unknown');
  const suspicious = Object.entries(failuresByAddress).filter(([, count]) => count >= failuresPerAddressWorthALook);

  const data = {
    keys_as_of_period_end: keys,
    admin_keys: active.filter((key) => key.roles.includes('admin')).map((key) => key.id),
    grants,
    revocations,
    unused_keys: { rule: `active at the end of the period and not used in the ${unusedKeyDays} days before it`, keys: unused.map((key) => ({ id: key.id, name: key.name, last_used_at: key.last_used_at, created_at: key.created_at })) },
    never_used_keys: neverUsed.map((key) => ({ id: key.id, name: key.name, created_at: key.created_at })),
    failed_logins: {
      total: failures.length,
      by_address: failuresByAddress,
      by_reason: countBy(failures, (event) => String(auditDetail(event).reason ?? 'unknown')),
      events: failures.slice(-maxEventsListed).map((event) => ({ time: event.time, address: event.remote_address, target: event.target, reason: auditDetail(event).reason })),
    },
    denied_requests: {
      total: denials.length,
      by_identity: countBy(denials, (event) => event.actor_name || event.actor_id || 'unknown'),
      events: denials.slice(-maxEventsListed).map((event) => ({ time: event.time, who: event.actor_name, who_id: event.actor_id, target: event.target, reason: auditDetail(event).reason })),
    },
    note: 'keys, roles and tenants are read from the server at generation time and projected to the end of the period; last use is the latest known',
  };
  const base = { id: 'access', title: 'Logical access: keys, roles, grants and authentication', criteria: ['CC6.1', 'CC6.2', 'CC6.3'], data };
  const concernsFound = [
    ...(unused.length > 0 ? [`${unused.length} active keys unused for ${unusedKeyDays} days (${unused.map((key) => key.name).join(', ')}): revoke them`] : []),
    ...suspicious.map(([address, count]) => `${count} failed logins from ${address}`),
  ];
  if (concernsFound.length > 0) return { ...base, status: 'attention', reason: concernsFound.join('; ') };
  return {
    ...base,
    status: 'pass',
    reason: `${active.length} active keys, ${grants.length} granted and ${revocations.length} revoked in the period, none unused for ${unusedKeyDays} days; ${failures.length} failed logins and ${denials.length} refused requests recorded`,
  };
}
