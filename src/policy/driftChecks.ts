import { maxAgeSeconds } from '../retention/disposer.js';
import { selects, type LoggingPolicy } from './policyFile.js';

/** One way the running installation differs from a tenant's policy. */
export interface Drift {
  kind:
    | 'silent_source'
    | 'low_volume'
    | 'missing_fields'
    | 'segregation_of_duties'
    | 'too_many_holders'
    | 'erasure_one_person'
    | 'unretained_stream'
    | 'retention_shorter'
    | 'missing_alert_rule'
    | 'missing_redaction';
  /** What drifted: a source name, a grant, a stream; with kind, the finding's identity across evaluations. */
  subject: string;
  detail: string;
}

export interface Stream {
  service: string;
  mesh: string;
  cluster: string;
  platform: string;
}

/** An identity that holds roles on the tenant: an API key not issued to a user, or a user with the keys issued to them. */
export interface Grant {
  kind: 'key' | 'user';
  id: string;
  name: string;
  roles: string[];
}

/** What the server observed for one tenant, gathered by the policy monitor. */
export interface TenantFacts {
  windowMs: number;
  /** Per required source: events in the window, and how many of them lack each required field. */
  sources: Map<string, { events: number; missing: Record<string, number> }>;
  streams: Stream[];
  /** How long the server's retention configuration keeps a stream's records (its first matching rule, else the default). */
  keptSeconds: (stream: Stream) => number;
  grants: Grant[];
  alertRules: Set<string>;
  /** Executed erasure requests of the tenant. */
  erasures: { id: string; requestedBy: string; executedBy: string }[];
  redactionRules: Set<string>;
  maskedFields: Set<string>;
}

const streamName = (stream: Stream) =>
  Object.entries(stream)
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key}=${value}`)
    .join(',') || 'service=';

/** Everything in which the facts differ from the policy, each finding once. */
export function driftOf(policy: LoggingPolicy, facts: TenantFacts): Drift[] {
  const drift: Drift[] = [];
  const hours = facts.windowMs / 3_600_000;
  for (const source of policy.required_sources) {
    const seen = facts.sources.get(source.name) ?? { events: 0, missing: {} };
    const perHour = seen.events / hours;
    if (seen.events === 0 && source.min_events_per_hour > 0) {
      drift.push({
        kind: 'silent_source',
        subject: source.name,
        detail: `no events from ${JSON.stringify(source.selector)} in the last ${facts.windowMs / 1000} s; the policy requires ${source.min_events_per_hour} per hour`,
      });
    } else if (perHour < source.min_events_per_hour) {
      drift.push({
        kind: 'low_volume',
        subject: source.name,
        detail: `${Number(perHour.toFixed(2))} events per hour over the last ${facts.windowMs / 1000} s; the policy requires ${source.min_events_per_hour}`,
      });
    }
    const lacking = Object.entries(seen.missing).filter(([, count]) => count > 0);
    if (lacking.length > 0) {
      drift.push({
        kind: 'missing_fields',
        subject: source.name,
        detail: lacking.map(([field, count]) => `${count} of ${seen.events} events lack ${field}`).join('; '),
      });
    }
  }
  for (const grant of facts.grants) {
    for (const rule of policy.access.segregation_of_duties) {
      if (rule.roles.every((role) => grant.roles.includes(role))) {
        drift.push({
          kind: 'segregation_of_duties',
          subject: `${grant.kind}:${grant.id}`,
          detail: `${grant.kind} "${grant.name}" holds ${rule.roles.join(' and ')} together, which rule "${rule.name}" forbids`,
        });
      }
    }
  }
  for (const [role, max] of Object.entries(policy.access.max_holders)) {
    const holders = facts.grants.filter((grant) => grant.roles.includes(role));
    if (max !== undefined && holders.length > max)
      drift.push({
        kind: 'too_many_holders',
        subject: role,
        detail: `${holders.length} identities hold ${role} (${holders.map((grant) => grant.name).join(', ')}); the policy allows ${max}`,
      });
  }
  if (policy.access.erasure_people >= 2) {
    for (const erasure of facts.erasures.filter((candidate) => candidate.requestedBy === candidate.executedBy)) {
      drift.push({
        kind: 'erasure_one_person',
        subject: erasure.id,
        detail: `erasure ${erasure.id} was requested and executed by ${erasure.requestedBy} alone; the policy requires two people`,
      });
    }
  }
  for (const stream of facts.streams) {
    const rule = policy.retention.find((candidate) => selects(candidate.selector, stream));
    if (!rule) {
      drift.push({
        kind: 'unretained_stream',
        subject: streamName(stream),
        detail: `stream {${streamName(stream)}} matches no retention selector of the policy`,
      });
    } else if (facts.keptSeconds(stream) < maxAgeSeconds(rule.max_age)) {
      drift.push({
        kind: 'retention_shorter',
        subject: streamName(stream),
        detail: `the server keeps stream {${streamName(stream)}} ${facts.keptSeconds(stream) / 86_400} days; the policy requires ${rule.max_age}`,
      });
    }
  }
  for (const coverage of policy.alert_coverage) {
    for (const rule of coverage.rules.filter((name) => !facts.alertRules.has(name))) {
      drift.push({
        kind: 'missing_alert_rule',
        subject: `${coverage.source}/${rule}`,
        detail: `source "${coverage.source}" must be covered by alert rule "${rule}", which the tenant does not have`,
      });
    }
  }
  for (const rule of policy.redaction.rules.filter((name) => !facts.redactionRules.has(name))) {
    drift.push({
      kind: 'missing_redaction',
      subject: `rule:${rule}`,
      detail: `redaction rule "${rule}" is not configured (pipeline.redaction)`,
    });
  }
  for (const field of policy.redaction.masked_fields.filter((name) => !facts.maskedFields.has(name))) {
    drift.push({ kind: 'missing_redaction', subject: `masked:${field}`, detail: `field "${field}" is not masked (masking.fields)` });
  }
  return drift;
}
