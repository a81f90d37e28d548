import type { AccessSectionData } from '../api/reports.js';
import { anyTenant } from '../security/identity.js';
import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import { isoOfStored, parseStoredTime, type ReportSection, type SectionInput } from './reportModel.js';

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
  // As the keys stood at the end of the period, so a closed period always reads the same: a later revocation or use is not part of it.
  const atEnd = (time: string | null) => (time !== null && parseStoredTime(time) <= endMs ? isoOfStored(time) : null);
  const loggedIn = new Map((await sources.queries.lastLogins(period)).map((row) => [row.actor_id, row.last]));
  const keys = sources
    .keys()
    .filter((key) => parseStoredTime(key.created_at) <= endMs && concerns(key.tenants))
    .map((key) => {
      const revokedAt = atEnd(key.revoked_at);
      const expired = key.expires_at !== null && parseStoredTime(key.expires_at) <= endMs;
      const uses = [atEnd(key.last_used_at), atEnd(loggedIn.get(key.id) ?? null)].filter((time): time is string => time !== null).sort();
      return {
        id: key.id,
        name: key.name,
        roles: key.roles,
        tenants: key.tenants,
        created_by: key.created_by,
        created_at: isoOfStored(key.created_at),
        expires_at: key.expires_at === null ? null : isoOfStored(key.expires_at),
        revoked_at: revokedAt,
        revoked_by: revokedAt === null ? null : key.revoked_by,
        last_used_at: uses.at(-1) ?? null,
        state_at_period_end: revokedAt !== null ? 'revoked' : expired ? 'expired' : 'active',
      };
    });
  const active = keys.filter((key) => key.state_at_period_end === 'active');
  const lastUse = (key: (typeof keys)[number]) => (key.last_used_at === null ? undefined : parseStoredTime(key.last_used_at));
  const unused = active.filter((key) => (lastUse(key) ?? parseStoredTime(key.created_at)) <= unusedSince);
  const neverUsed = active.filter((key) => key.last_used_at === null);

  const ofAction = (action: string) => audit.filter((event) => event.action === action);
  const keyEvent = (event: StoredAuditEvent): Record<string, unknown> => ({
    time: event.time,
    by: event.actor_name,
    by_id: event.actor_id,
    key_id: event.target,
    ...auditDetail(event),
  });
  const grants = ofAction('keys.create')
    .map(keyEvent)
    .filter((grant) => concerns((grant.tenants as string[] | undefined) ?? [anyTenant]));
  const revocations = keyRevocations(audit);
  // API and UI logins alike: a wrong key, a wrong session password, an SSO login refused.
  const failures = audit.filter(
    (event) => event.action === 'auth.failure' || (event.action === 'auth.session.login' && event.outcome !== 'success'),
  );
  const lockouts = ofAction('auth.throttled');
  const denials = ofAction('access.denied');
  const failuresByAddress = countBy(failures, (event) => event.remote_address || 'unknown');
  const suspicious = Object.entries(failuresByAddress).filter(([, count]) => count >= failuresPerAddressWorthALook);
  const users = await userPopulation(sources, period.toNs);

  const data = {
    keys_as_of_period_end: keys,
    admin_keys: active.filter((key) => key.roles.includes('admin')).map((key) => key.id),
    grants,
    revocations,
    unused_keys: {
      rule: `active at the end of the period and not used in the ${unusedKeyDays} days before it`,
      keys: unused.map((key) => ({ id: key.id, name: key.name, last_used_at: key.last_used_at, created_at: key.created_at })),
    },
    never_used_keys: neverUsed.map((key) => ({ id: key.id, name: key.name, created_at: key.created_at })),
    users_as_of_period_end: users.filter((user) => concerns(user.tenants)),
    failed_logins: {
      total: failures.length,
      by_channel: countBy(failures, (event) => (event.action === 'auth.session.login' ? 'ui' : 'api')),
      by_address: failuresByAddress,
      by_reason: countBy(failures, (event) => String(auditDetail(event).reason ?? 'unknown')),
      events: failures.slice(-maxEventsListed).map((event) => ({
        time: event.time,
        channel: event.action === 'auth.session.login' ? 'ui' : 'api',
        address: event.remote_address,
        target: event.target,
        reason: auditDetail(event).reason,
      })),
    },
    lockouts: {
      total: lockouts.length,
      events: lockouts.map((event) => ({ time: event.time, source: event.target, ...auditDetail(event) })),
    },
    denied_requests: {
      total: denials.length,
      by_identity: countBy(denials, (event) => event.actor_name || event.actor_id || 'unknown'),
      events: denials.slice(-maxEventsListed).map((event) => ({
        time: event.time,
        who: event.actor_name,
        who_id: event.actor_id,
        target: event.target,
        reason: auditDetail(event).reason,
      })),
    },
    note: "keys as they stood at the end of the period: revocations and uses after it are left out; last use is the later of the key table's (when within the period) and the audit trail's last auth.login",
  };
  const base = {
    id: 'access',
    title: 'Logical access: keys, roles, grants and authentication',
    criteria: ['CC6.1', 'CC6.2', 'CC6.3'],
    data: data satisfies AccessSectionData,
  };
  const concernsFound = [
    ...(unused.length > 0
      ? [`${unused.length} active keys unused for ${unusedKeyDays} days (${unused.map((key) => key.name).join(', ')}): revoke them`]
      : []),
    ...suspicious.map(([address, count]) => `${count} failed logins from ${address}`),
    ...(lockouts.length > 0 ? [`${lockouts.length} lockouts (429) after repeated failed logins`] : []),
  ];
  if (concernsFound.length > 0) return { ...base, status: 'attention', reason: concernsFound.join('; ') };
  return {
    ...base,
    status: 'pass',
    reason: `${active.length} active keys, ${grants.length} granted and ${revocations.length} revoked in the period, none unused for ${unusedKeyDays} days; ${users.length} users; ${failures.length} failed logins, ${lockouts.length} lockouts and ${denials.length} refused requests recorded`,
  };
}

/** Every key revoked in the period: by hand (keys.revoke), and with a user's grants narrowed or the user disabled (their keys go with them). */
export function keyRevocations(audit: StoredAuditEvent[]): Record<string, unknown>[] {
  return audit.flatMap((event) => {
    if (event.action === 'keys.revoke')
      return [
        { time: event.time, by: event.actor_name, by_id: event.actor_id, key_id: event.target, via: event.action, ...auditDetail(event) },
      ];
    if (!/^users\.(update|disable)$/.test(event.action)) return [];
    const revoked = auditDetail(event).revoked_keys;
    return (Array.isArray(revoked) ? revoked : []).map((key) => ({
      time: event.time,
      by: event.actor_name,
      by_id: event.actor_id,
      key_id: String(key),
      via: event.action,
      user: event.target,
    }));
  });
}

interface UserAtPeriodEnd {
  name: string;
  roles: string[];
  tenants: string[];
  state: 'active' | 'disabled';
  created_at: string;
  created_by: string;
  changed_at: string;
}

/** Users as they stood at the end of the period, replayed from the audit trail's users.* events: a pure function of stored events. */
async function userPopulation(sources: SectionInput['sources'], untilNs: bigint): Promise<UserAtPeriodEnd[]> {
  const events = (
    await sources.auditStore.events({ sinceNs: 0n, untilNs, action: 'users.', outcome: 'success', limit: 1_000_000 })
  ).reverse();
  const users = new Map<string, UserAtPeriodEnd>();
  for (const event of events) {
    const detail = auditDetail(event);
    const user = users.get(event.target);
    if (event.action === 'users.create') {
      users.set(event.target, {
        name: event.target,
        roles: (detail.roles as string[]) ?? [],
        tenants: (detail.tenants as string[]) ?? [],
        state: 'active',
        created_at: event.time,
        created_by: event.actor_name,
        changed_at: event.time,
      });
    } else if (user && event.action === 'users.update') {
      const after = (detail.after ?? {}) as { roles?: string[]; tenants?: string[] };
      Object.assign(user, { roles: after.roles ?? user.roles, tenants: after.tenants ?? user.tenants, changed_at: event.time });
    } else if (user && (event.action === 'users.disable' || event.action === 'users.enable')) {
      Object.assign(user, { state: event.action === 'users.disable' ? 'disabled' : 'active', changed_at: event.time });
    }
  }
  return [...users.values()].sort((a, b) => a.name.localeCompare(b.name));
}
