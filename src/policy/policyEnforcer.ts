import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Alerting } from '../alerting/alerting.js';
import type { MeshlogConfig } from '../config/schema.js';
import { retentionRules } from '../retention/disposer.js';
import { MeshlogError } from '../errors.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { anyTenant, tenantFor, type Identity } from '../security/identity.js';
import type { Storage } from '../storage/engine/storage.js';
import type { AlertTransition } from '../storage/stores/alertStore.js';
import type { DriftEvent, PolicyStore, StoredPolicy } from '../storage/stores/policyStore.js';
import { driftOf, type Grant, type Stream, type TenantFacts } from './driftChecks.js';
import { lineDiff } from './policyDiff.js';
import { describeProblems, fieldColumns, parsePolicy, type LoggingPolicy, type Selector } from './policyFile.js';
import { signPolicy } from './policySignature.js';
import { notificationOfTransition } from '../alerting/notify/notificationOfTransition.js';

/** What the enforcer reads of the rest of the server, each as of the moment it is called. */
export interface PolicySources {
  storage: Storage;
  store: PolicyStore;
  audit: AuditTrail;
  signer: NoteSigner;
  /** Absent when alerting is off: drift is then stored and served, not alerted. */
  alerting: Alerting | undefined;
  /** Active API keys and users, with the ids of the keys issued to each user. */
  keys: () => { id: string; name: string; roles: string[]; tenants: string[]; state: string }[];
  users: () => { name: string; roles: string[]; tenants: string[]; state: string; key_ids: string[] }[];
  erasures: () => Promise<{ id: string; tenant: string; status: string; requested_by: string; closed_by: string }[]>;
  /** The server's retention configuration (retention.*), which must keep each stream at least as long as the policy says. */
  retention: MeshlogConfig['retention'];
  /** Names of the redaction rules in force (built-in and custom) and the masked fields. */
  redactionRules: string[];
  maskedFields: string[];
  logger: Logger;
}

export interface PolicyTiming {
  intervalMs: number;
  sourceWindowMs: number;
  streamWindowMs: number;
}

/** Most streams one evaluation reads per tenant. */
const maxStreams = 10_000;

const key = (drift: { tenant: string; kind: string; subject: string }) => `${drift.tenant}\0${drift.kind}\0${drift.subject}`;

const selectorSql = (selector: Selector, params: Record<string, unknown>) =>
  (Object.entries(selector) as [keyof Selector, string][]).map(([name, value]) => {
    params[`sel_${name}`] = value;
    return `${name === 'service' ? 'service_name' : name} = {sel_${name}:String}`;
  });

/**
 * Tenants' logging policies: applies them (validated, numbered, hashed,
 * signed, audited with the diff from the previous one), answers the policy
 * in force at any time, and evaluates drift on a timer and after each apply.
 * A finding is stored as an event when it opens and when it resolves, and
 * raised as an alert (namespace `policy`) through the alerting notifiers.
 */
export class PolicyEnforcer {
  private readonly open = new Map<string, DriftEvent>();
  private timer: NodeJS.Timeout | undefined;
  private evaluating: Promise<void> = Promise.resolve();
  private applying: Promise<unknown> = Promise.resolve();
  /** Evaluations asked for and not finished. */
  private pending = 0;
  /** When the latest evaluation finished (ms), for the API. */
  lastEvaluatedAtMs = 0;

  private constructor(
    private readonly sources: PolicySources,
    readonly timing: PolicyTiming,
  ) {}

  static async open(sources: PolicySources, timing: PolicyTiming): Promise<PolicyEnforcer> {
    const enforcer = new PolicyEnforcer(sources, timing);
    for (const drift of await sources.store.openDrift('')) enforcer.open.set(key(drift), drift);
    // A tick while an evaluation still runs is skipped: a slow evaluation never queues up behind itself.
    enforcer.timer = setInterval(() => enforcer.pending === 0 && void enforcer.evaluate(), timing.intervalMs);
    enforcer.timer.unref();
    return enforcer;
  }

  /** Validates and applies a policy file for its tenant, which the actor must hold; returns the stored version. */
  apply(text: string, actor: Identity, remoteAddress: string): Promise<StoredPolicy> {
    // One apply at a time: two at once would both read version n and both store n + 1.
    const applied = this.applying.then(() => this.applyNow(text, actor, remoteAddress));
    this.applying = applied.catch(() => undefined);
    return applied;
  }

  private async applyNow(text: string, actor: Identity, remoteAddress: string): Promise<StoredPolicy> {
    const parsed = parsePolicy(text);
    if (!parsed.ok) {
      await this.sources.audit.record({
        action: 'policy.apply',
        outcome: 'failure',
        actor,
        remoteAddress,
        detail: { problems: parsed.problems },
      });
      throw new MeshlogError('ML_DECODE', `the policy is invalid:\n${describeProblems('policy', parsed.problems)}`);
    }
    const tenant = parsed.policy.tenant;
    try {
      tenantFor(actor, tenant);
    } catch (error) {
      await this.sources.audit.record({
        action: 'policy.apply',
        outcome: 'denied',
        actor,
        remoteAddress,
        tenant,
        detail: { reason: (error as Error).message },
      });
      throw error;
    }
    const previous = await this.sources.store.inForce(tenant);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const appliedAt = new Date(
      Math.max(Date.now(), previous ? Date.parse(`${previous.applied_at.replace(' ', 'T')}Z`) + 1 : 0),
    ).toISOString();
    const version = (previous?.version ?? 0) + 1;
    const diff = lineDiff(previous?.yaml ?? '', text);
    const signature = signPolicy(
      {
        tenant,
        version,
        label: parsed.policy.version,
        sha256,
        previous_sha256: previous?.sha256 ?? null,
        applied_at: appliedAt,
        applied_by: actor.name,
      },
      this.sources.signer,
    );
    const stored: StoredPolicy = {
      tenant,
      version,
      label: parsed.policy.version,
      sha256,
      yaml: text,
      signature: JSON.stringify(signature),
      diff: diff.join('\n'),
      applied_at: appliedAt,
      applied_by: actor.name,
      applied_by_id: actor.id,
    };
    await this.sources.store.save(stored);
    await this.sources.audit.record({
      action: 'policy.apply',
      outcome: 'success',
      actor,
      remoteAddress,
      tenant,
      target: `policy ${tenant} v${version}`,
      detail: {
        version,
        label: stored.label,
        sha256,
        previous_sha256: previous?.sha256 ?? null,
        previous_version: previous?.version ?? null,
        diff,
        signature: signature.value,
      },
    });
    await this.evaluate();
    return stored;
  }

  /** Open findings of a tenant, as of the latest evaluation. */
  drift(tenant: string): DriftEvent[] {
    return [...this.open.values()].filter((drift) => drift.tenant === tenant);
  }

  /** Evaluates every tenant with a policy now (after any evaluation under way). */
  evaluate(): Promise<void> {
    this.pending++;
    this.evaluating = this.evaluating
      .then(() => this.evaluateAll())
      .catch((error: unknown) => this.sources.logger.error({ reason: (error as Error).message }, 'policy drift evaluation failed'))
      .finally(() => this.pending--);
    return this.evaluating;
  }

  private async evaluateAll(): Promise<void> {
    const nowMs = Date.now();
    const found = new Map<string, DriftEvent>();
    const tenants = await this.sources.store.tenants();
    for (const tenant of tenants) {
      const applied = await this.sources.store.inForce(tenant);
      if (!applied) continue;
      const parsed = parsePolicy(applied.yaml);
      if (!parsed.ok) continue;
      for (const drift of driftOf(parsed.policy, await this.factsOf(tenant, parsed.policy, nowMs))) {
        const event: DriftEvent = { tenant, ...drift, state: 'open', policy_version: applied.version, at: new Date(nowMs).toISOString() };
        found.set(key(event), event);
      }
    }
    const opened = [...found.values()].filter((drift) => !this.open.has(key(drift)));
    const resolved = [...this.open.values()]
      .filter((drift) => !found.has(key(drift)))
      .map((drift): DriftEvent => ({ ...drift, state: 'resolved', at: new Date(nowMs).toISOString() }));
    await this.sources.store.recordDrift([...opened, ...resolved]);
    for (const drift of resolved) this.open.delete(key(drift));
    // A finding still open keeps its first event; its detail (counts) is refreshed for the API.
    for (const drift of found.values()) this.open.set(key(drift), { ...drift, at: this.open.get(key(drift))?.at ?? drift.at });
    await this.alert(opened, resolved, nowMs);
    this.lastEvaluatedAtMs = Date.now();
  }

  private async alert(opened: DriftEvent[], resolved: DriftEvent[], nowMs: number): Promise<void> {
    const alerting = this.sources.alerting;
    if (!alerting || opened.length + resolved.length === 0) return;
    const transitions = [...opened, ...resolved].map((drift): AlertTransition => ({
      tenant: drift.tenant,
      namespace: 'policy',
      group: drift.kind,
      alertName: 'PolicyDrift',
      fingerprint: `policy/${drift.kind}/${drift.subject}`,
      state: drift.state === 'open' ? 'firing' : 'resolved',
      labels: {
        alertname: 'PolicyDrift',
        drift: drift.kind,
        subject: drift.subject,
        policy_version: String(drift.policy_version),
        criteria: 'CC7.2',
      },
      annotations: { summary: `logging policy drift: ${drift.kind.replaceAll('_', ' ')} (${drift.subject})`, description: drift.detail },
      value: 1,
      activeAtMs: drift.state === 'open' ? nowMs : Date.parse(drift.at.includes('T') ? drift.at : `${drift.at.replace(' ', 'T')}Z`),
      atMs: nowMs,
    }));
    try {
      await alerting.store.recordTransitions(transitions);
    } catch (error) {
      this.sources.logger.error({ reason: (error as Error).message }, 'could not store policy drift alerts');
    }
    for (const t of transitions) {
      const notification = notificationOfTransition(t);
      if (notification) alerting.notify(notification);
    }
  }

  /** What the server observes for one tenant, read now. */
  private async factsOf(tenant: string, policy: LoggingPolicy, nowMs: number): Promise<TenantFacts> {
    const { storage } = this.sources;
    const db = storage.database;
    const sources = new Map<string, { events: number; missing: Record<string, number> }>();
    for (const source of policy.required_sources) {
      const params: Record<string, unknown> = { tenant, since: BigInt(nowMs - this.timing.sourceWindowMs) * 1_000_000n };
      const missing = source.fields.map((field, i) => {
        const column = fieldColumns[field as keyof typeof fieldColumns];
        if (column) return `countIf(NOT (${column})) AS m${i}`;
        params[`f${i}`] = field;
        return `countIf(NOT (mapContains(log_attributes, {f${i}:String}) OR mapContains(resource_attributes, {f${i}:String}))) AS m${i}`;
      });
      const [row] = await storage.rows<Record<string, string | number>>(
        `SELECT count() AS events${missing.map((expr) => `, ${expr}`).join('')} FROM ${db}.logs
         WHERE tenant = {tenant:String} AND timestamp >= fromUnixTimestamp64Nano({since:Int64}) AND ${selectorSql(source.selector, params).join(' AND ')}`,
        params,
      );
      sources.set(source.name, {
        events: Number(row?.events ?? 0),
        missing: Object.fromEntries(source.fields.map((field, i) => [field, Number(row?.[`m${i}`] ?? 0)])),
      });
    }
    const streams = await storage.rows<Stream>(
      `SELECT DISTINCT service_name AS service, mesh, cluster, platform FROM ${db}.logs
       WHERE tenant = {tenant:String} AND timestamp >= fromUnixTimestamp64Nano({since:Int64}) ORDER BY service, mesh, cluster, platform LIMIT ${maxStreams}`,
      { tenant, since: BigInt(nowMs - this.timing.streamWindowMs) * 1_000_000n },
    );
    const holds = (grant: { tenants: string[]; state: string }) =>
      grant.state === 'active' && (grant.tenants.includes(tenant) || grant.tenants.includes(anyTenant));
    const keys = this.sources.keys();
    const users = this.sources.users().filter(holds);
    const userKeys = new Set(this.sources.users().flatMap((user) => user.key_ids));
    const grants: Grant[] = [
      ...keys
        .filter((apiKey) => holds(apiKey) && !userKeys.has(apiKey.id))
        .map((apiKey): Grant => ({ kind: 'key', id: apiKey.id, name: apiKey.name, roles: apiKey.roles })),
      // A person is one grant whatever number of keys they were issued: the user's roles and their keys' together.
      ...users.map((user): Grant => ({
        kind: 'user',
        id: user.name,
        name: user.name,
        roles: [...new Set([...user.roles, ...keys.filter((k) => user.key_ids.includes(k.id) && holds(k)).flatMap((k) => k.roles)])],
      })),
    ];
    const alertRules = new Set(
      (this.sources.alerting?.engine.ruleGroups(tenant) ?? []).flatMap((group) => group.rules.map((rule) => rule.alert)),
    );
    const erasures = (await this.sources.erasures())
      .filter((request) => request.tenant === tenant && request.status === 'executed')
      .map((request) => ({ id: request.id, requestedBy: request.requested_by, executedBy: request.closed_by }));
    const { rules, fallback } = retentionRules(this.sources.retention);
    // The first rule for all severities that matches is how long a stream is surely kept (severity rules shorten only some records, and are not counted).
    const keptSeconds = (stream: Stream) =>
      (
        rules.find(
          (rule) =>
            rule.maxSeverity === undefined &&
            (rule.tenant === undefined || rule.tenant === tenant) &&
            (rule.service === undefined || rule.service === stream.service),
        ) ?? fallback
      ).maxAgeSeconds;
    return {
      windowMs: this.timing.sourceWindowMs,
      sources,
      streams,
      keptSeconds,
      grants,
      alertRules,
      erasures,
      redactionRules: new Set(this.sources.redactionRules),
      maskedFields: new Set(this.sources.maskedFields),
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.evaluating;
  }
}
