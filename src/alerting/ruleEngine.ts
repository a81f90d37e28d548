import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { stepsOf } from '../query/logql/metricValue.js';
import type { QueryLimits } from '../query/logql/queryContext.js';
import { Querier } from '../query/querier.js';
import { ReadPolicy } from '../query/readPolicy.js';
import type { SqlRunner } from '../storage/sql.js';
import type { AlertState, AlertStore, AlertTransition } from '../storage/stores/alertStore.js';
import type { AlertNotification } from './notify/httpNotifier.js';
import { expandTemplate } from './rules/annotationTemplate.js';
import type { AlertRule, RuleGroup } from './rules/ruleGroups.js';
import type { QueryBudget, QueryBudgets } from '../query/logql/queryBudget.js';
import { notificationOfTransition } from './notify/notificationOfTransition.js';
import { AlertFingerprints } from './alertFingerprint.js';

export interface RuleEngineDeps {
  runner: SqlRunner;
  /** query.timeout for rule expressions too; a stopping server cancels them. */
  budgets?: QueryBudgets;
  database: string;
  limits: QueryLimits;
  store: AlertStore;
  notify: (alert: AlertNotification) => void;
  logger: Logger;
  defaultIntervalMs: number;
  /** Fingerprints of new instances (keyed: a reader cannot recompute them from guessed label values). */
  fingerprints: Pick<AlertFingerprints, 'of'>;
  /** Told of every firing and resolution of a rule marked `open_incident` (the incidents of src/incidents/); must not throw. */
  incidentAlert?: (transition: AlertTransition) => void;
  /** In a cluster: each group is evaluated only by the node holding its lease (src/cluster/leases.ts). */
  leases?: EvaluationLeases;
}

/**
 * Leases as the engine needs them: a group's evaluation is acted on only if
 * the lease was renewed at its fencing token after the evaluation, and the
 * group's alert instances are left to the next holder with that renewal.
 */
export interface EvaluationLeases {
  acquire(name: string): Promise<{ token: number; takenOver: boolean } | undefined>;
  stateOf<T>(name: string): Promise<T | undefined>;
  keep(name: string, token: number, state: unknown): Promise<number | undefined>;
}

/** An alert instance as one lease holder leaves it to the next. */
type HandedOver = Omit<AlertInstance, 'rule'> & { alertName: string };

/** One alert instance: a rule and one label set its expression returned. */
export interface AlertInstance {
  tenant: string;
  namespace: string;
  group: string;
  rule: AlertRule;
  fingerprint: string;
  state: Exclude<AlertState, 'resolved'>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeAtMs: number;
}

export interface RuleHealth {
  lastEvaluationMs: number;
  lastError: string;
  durationMs: number;
}

/** The lease of one group: its key hashed into a lease name. */
const leaseOf = (group: RuleGroup) =>
  `alert-group.${createHash('sha256')
    .update(JSON.stringify([group.tenant, group.namespace, group.name]))
    .digest('hex')
    .slice(0, 32)}`;

const ruleKey = (group: RuleGroup, rule: AlertRule) => `${group.tenant}\0${group.namespace}\0${group.name}\0${rule.alert}`;
const groupKey = (group: RuleGroup) => `${group.tenant}\0${group.namespace}\0${group.name}`;

/**
 * Evaluates alerting rules on their group's schedule through the LogQL
 * engine and moves each alert instance through pending → firing → resolved
 * (Prometheus semantics: pending until the condition held for `for:`), storing
 * every change and notifying on firing and on resolution.
 */
export class RuleEngine {
  private readonly groups = new Map<string, { group: RuleGroup; timer: NodeJS.Timeout }>();
  /** By identity (AlertFingerprints.identityOf), not fingerprint: instances keep the fingerprint they started with. */
  private readonly instances = new Map<string, AlertInstance>();
  readonly health = new Map<string, RuleHealth>();
  private evaluating: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: RuleEngineDeps) {}

  /** Picks up instances of these groups that were pending or firing before a restart; call before setGroup. */
  async restore(groups: RuleGroup[]): Promise<void> {
    for (const stored of await this.deps.store.active()) {
      const group = groups.find(
        (candidate) => candidate.tenant === stored.tenant && candidate.namespace === stored.namespace && candidate.name === stored.group,
      );
      const rule = group?.rules.find((candidate) => candidate.alert === stored.alertName);
      if (!rule) continue;
      this.instances.set(AlertFingerprints.identityOf(stored), {
        tenant: stored.tenant,
        namespace: stored.namespace,
        group: stored.group,
        rule,
        fingerprint: stored.fingerprint,
        state: stored.state as AlertInstance['state'],
        labels: stored.labels,
        annotations: stored.annotations,
        value: stored.value,
        activeAtMs: stored.activeAtMs,
      });
    }
  }

  /** Adds or replaces a group; it is evaluated at once and then every interval. */
  setGroup(group: RuleGroup): void {
    this.removeGroup(group.tenant, group.namespace, group.name);
    const intervalMs = group.intervalMs ?? this.deps.defaultIntervalMs;
    const timer = setInterval(() => void this.schedule(group), intervalMs);
    timer.unref();
    this.groups.set(groupKey(group), { group, timer });
    void this.schedule(group);
  }

  removeGroup(tenant: string, namespace: string, name: string): boolean {
    const key = `${tenant}\0${namespace}\0${name}`;
    const entry = this.groups.get(key);
    if (!entry) return false;
    clearInterval(entry.timer);
    this.groups.delete(key);
    for (const [identity, instance] of this.instances) {
      if (instance.tenant === tenant && instance.namespace === namespace && instance.group === name) this.instances.delete(identity);
    }
    return true;
  }

  ruleGroups(tenant: string): RuleGroup[] {
    return [...this.groups.values()].map(({ group }) => group).filter((group) => group.tenant === tenant);
  }

  activeInstances(tenant: string, group?: RuleGroup, rule?: AlertRule): AlertInstance[] {
    return [...this.instances.values()].filter(
      (instance) =>
        instance.tenant === tenant &&
        (!group || (instance.namespace === group.namespace && instance.group === group.name)) &&
        (!rule || instance.rule === rule),
    );
  }

  healthOf(group: RuleGroup, rule: AlertRule): RuleHealth | undefined {
    return this.health.get(ruleKey(group, rule));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.groups.values()) clearInterval(timer);
    await this.evaluating;
  }

  /** Evaluations run one at a time, so state changes of one instance are never interleaved. */
  private schedule(group: RuleGroup): Promise<void> {
    this.evaluating = this.evaluating.then(() =>
      this.stopped || this.groups.get(groupKey(group))?.group !== group ? undefined : this.evaluateGroup(group, Date.now()),
    );
    return this.evaluating;
  }

  /** The instances of a group, this node's or handed over. */
  private instancesOf(group: RuleGroup): AlertInstance[] {
    return [...this.instances.values()].filter(
      (instance) => instance.tenant === group.tenant && instance.namespace === group.namespace && instance.group === group.name,
    );
  }

  /** Replaces what this node knew of a group's instances with what the last lease holder left (nothing: it knew none). */
  private takeOver(group: RuleGroup, handed: HandedOver[]): void {
    for (const instance of this.instancesOf(group)) this.instances.delete(AlertFingerprints.identityOf(instance));
    for (const { alertName, ...instance } of handed) {
      const rule = group.rules.find((candidate) => candidate.alert === alertName);
      if (rule) this.instances.set(AlertFingerprints.identityOf(instance), { ...instance, rule });
    }
  }

  /** In a cluster: this node's turn at a group (its lease), or undefined when another node evaluates it. */
  private async turnAt(group: RuleGroup, leases: EvaluationLeases): Promise<number | undefined> {
    const name = leaseOf(group);
    try {
      const turn = await leases.acquire(name);
      if (!turn) {
        // Another node evaluates it: what this node knew of its instances is stale.
        for (const instance of this.instancesOf(group)) this.instances.delete(AlertFingerprints.identityOf(instance));
        return undefined;
      }
      if (turn.takenOver) this.takeOver(group, (await leases.stateOf<HandedOver[]>(name)) ?? []);
      return turn.token;
    } catch (error) {
      this.deps.logger.warn({ group: group.name, reason: (error as Error).message }, 'alert group lease unavailable; not evaluated');
      return undefined;
    }
  }

  private async evaluateGroup(group: RuleGroup, nowMs: number): Promise<void> {
    const leases = this.deps.leases;
    const token = leases && (await this.turnAt(group, leases));
    if (leases && token === undefined) return;
    const transitions: AlertTransition[] = [];
    const ofIncidentRules: AlertTransition[] = [];
    for (const rule of group.rules) {
      const started = performance.now();
      let error = '';
      try {
        const changed = await this.evaluateRule(group, rule, nowMs);
        transitions.push(...changed);
        if (rule.openIncident) ofIncidentRules.push(...changed.filter((transition) => transition.state !== 'pending'));
      } catch (failure) {
        error = (failure as Error).message;
        this.deps.logger.warn({ group: group.name, alert: rule.alert, reason: error }, 'alert rule evaluation failed');
      }
      this.health.set(ruleKey(group, rule), { lastEvaluationMs: nowMs, lastError: error, durationMs: performance.now() - started });
    }
    if (leases && token !== undefined) {
      const handed: HandedOver[] = this.instancesOf(group).map(({ rule, ...instance }) => ({ ...instance, alertName: rule.alert }));
      const kept = await leases.keep(leaseOf(group), token, handed).catch(() => undefined);
      if (kept === undefined) {
        // Fenced off: the lease lapsed during the evaluation and another node may evaluate the group now. Act on nothing.
        this.deps.logger.warn({ group: group.name }, 'alert group lease lost during its evaluation; its result is dropped');
        for (const instance of this.instancesOf(group)) this.instances.delete(AlertFingerprints.identityOf(instance));
        return;
      }
    }
    try {
      await this.deps.store.recordTransitions(transitions);
    } catch (failure) {
      this.deps.logger.error({ reason: (failure as Error).message }, 'could not store alert states');
    }
    for (const transition of transitions) {
      const notification = notificationOfTransition(transition);
      if (notification) this.deps.notify(notification);
    }
    for (const transition of ofIncidentRules) this.deps.incidentAlert?.(transition);
  }

  private async evaluateRule(group: RuleGroup, rule: AlertRule, nowMs: number): Promise<AlertTransition[]> {
    const nowNs = BigInt(nowMs) * 1_000_000n;
    // A rule reads for no person: no masking, nothing revealed to audit.
    const evaluate = async (budget?: QueryBudget) =>
      (
        await new Querier(this.deps, { tenant: group.tenant, policy: ReadPolicy.none, budget }).evaluate(
          rule.expr,
          stepsOf(nowNs, nowNs, 1n, this.deps.limits),
        )
      ).value;
    const value = this.deps.budgets ? await this.deps.budgets.run(evaluate) : await evaluate();
    const results = value.kind === 'vector' ? value.series.filter((series) => !Number.isNaN(series.values[0])) : [];
    const transitions: AlertTransition[] = [];
    const change = (instance: AlertInstance, state: AlertState): void => {
      transitions.push({
        tenant: instance.tenant,
        namespace: instance.namespace,
        group: instance.group,
        alertName: rule.alert,
        fingerprint: instance.fingerprint,
        state,
        labels: instance.labels,
        annotations: instance.annotations,
        value: instance.value,
        activeAtMs: instance.activeAtMs,
        atMs: nowMs,
      });
    };
    const seen = new Set<string>();
    for (const series of results) {
      const labels = { ...series.labels, ...rule.labels, alertname: rule.alert };
      const key = { tenant: group.tenant, namespace: group.namespace, group: group.name, labels };
      const identity = AlertFingerprints.identityOf(key);
      seen.add(identity);
      const sampleValue = series.values[0];
      const annotations = Object.fromEntries(
        Object.entries(rule.annotations).map(([name, template]) => [name, expandTemplate(template, labels, sampleValue)]),
      );
      let instance = this.instances.get(identity);
      if (!instance) {
        instance = {
          tenant: group.tenant,
          namespace: group.namespace,
          group: group.name,
          rule,
          fingerprint: this.deps.fingerprints.of(key),
          state: 'pending',
          labels,
          annotations,
          value: sampleValue,
          activeAtMs: nowMs,
        };
        this.instances.set(identity, instance);
        change(instance, 'pending');
      }
      instance.value = sampleValue;
      instance.annotations = annotations;
      if (instance.state === 'pending' && nowMs - instance.activeAtMs >= rule.forMs) {
        instance.state = 'firing';
        change(instance, 'firing');
      }
    }
    for (const [identity, instance] of this.instances) {
      if (instance.rule !== rule || seen.has(identity)) continue;
      this.instances.delete(identity);
      // A pending alert whose condition stopped holding never fired: it just goes away.
      if (instance.state === 'firing') change(instance, 'resolved');
    }
    return transitions;
  }
}
