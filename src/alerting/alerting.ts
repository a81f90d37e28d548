import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { QueryLimits } from '../query/logql/queryContext.js';
import type { SqlRunner } from '../storage/sql.js';
import { randomUUID } from 'node:crypto';
import type { AlertStore, AlertTransition, Silence, StoredRuleGroup } from '../storage/stores/alertStore.js';
import { Replica } from '../model/replica.js';
import { HttpNotifier, type AlertNotification, type DeliveryOptions } from './notify/httpNotifier.js';
import { pagerDutyEvent, signedWebhook, slackMessage } from './notify/notificationFormats.js';
import { RuleEngine, type EvaluationLeases } from './ruleEngine.js';
import { shownReceiverName } from './notify/receiverName.js';
import type { QueryBudgets } from '../query/logql/queryBudget.js';
import { parseRuleFile, parseRuleGroup, type RuleGroup } from './rules/ruleGroups.js';
import type { AlertFingerprints } from './alertFingerprint.js';

export interface AlertingDeps {
  runner: SqlRunner;
  budgets?: QueryBudgets;
  database: string;
  limits: QueryLimits;
  store: AlertStore;
  logger: Logger;
  /** Firings and resolutions of rules marked open_incident (see RuleEngineDeps). */
  incidentAlert?: (transition: AlertTransition) => void;
  /** In a cluster: each rule group is evaluated by the node holding its lease (see RuleEngineDeps). */
  leases?: EvaluationLeases;
  /** Keyed fingerprints of new alert instances, and of stored ones as the API shows them. */
  fingerprints: AlertFingerprints;
  /** An alert as receivers get it: their readers may not unmask, so its sensitive labels and annotations masked. */
  forReceivers: (alert: AlertNotification) => AlertNotification;
}

const groupKeyOf = (group: { tenant: string; namespace: string; name: string }) => `${group.tenant}\0${group.namespace}\0${group.name}`;

/** How often silences are checked for having ended, to release the firing alerts they held back. */
const silenceSweepMs = 1000;
/** How often notifications a receiver could not be reached for are tried again. */
const owedRetryMs = 30_000;
/** The receiver name of notifications a silence holds back, in what is owed. */
const heldReceiver = 'held';

/** A notification a receiver is owed; `sending` while a delivery of it is under way. */
interface Owed {
  notifier: HttpNotifier;
  alert: AlertNotification;
  sending: boolean;
}

/**
 * Alerting of one server: rule groups from the configured files and from
 * the ruler API (kept in storage), their engine, and the notifiers.
 */
export class Alerting {
  private readonly deliveries = new Set<Promise<unknown>>();
  /** Firing notifications a silence held back, by fingerprint, until the alert resolves or the silence ends. */
  private readonly held = new Map<string, AlertNotification>();
  /** Notifications not yet taken by their receiver, by receiver and fingerprint: the newest state replaces an older one. */
  private readonly owed = new Map<string, Owed>();
  private readonly sweep: NodeJS.Timeout;
  private readonly retry: NodeJS.Timeout;
  /** The YAML of each ruler-API group, by group key: a replicated copy of what this node already runs changes nothing. */
  private readonly groupYaml = new Map<string, string>();
  /** In a cluster: a group put or deleted through the ruler API of any node is kept and run (under its lease) by every node. */
  readonly ruleGroupReplica = new Replica<StoredRuleGroup & { deleted: boolean }>(async ({ deleted, ...group }) => {
    if ((this.groupYaml.get(groupKeyOf(group)) ?? '') === (deleted ? '' : group.yaml)) return;
    if (deleted) await this.removeGroupHere(group.tenant, group.namespace, group.name);
    else await this.putGroupHere(group.tenant, group.namespace, group.yaml);
  });
  /** In a cluster: a silence added or ended on any node holds back notifications on every node. */
  readonly silenceReplica = new Replica<Silence>(async (silence) => {
    const known = this.silenceList.find((candidate) => candidate.tenant === silence.tenant && candidate.id === silence.id);
    if (known?.endsAtMs === silence.endsAtMs) return;
    await this.store.saveSilence(silence);
    if (known) known.endsAtMs = silence.endsAtMs;
    else this.silenceList.push({ ...silence });
    this.releaseHeld(Date.now());
  });

  private constructor(
    readonly engine: RuleEngine,
    readonly store: AlertStore,
    private readonly notifiers: HttpNotifier[],
    private readonly silenceList: Silence[],
    private readonly logger: Logger,
    readonly fingerprints: AlertFingerprints,
    private readonly forReceivers: (alert: AlertNotification) => AlertNotification,
  ) {
    this.sweep = setInterval(() => this.releaseHeld(Date.now()), silenceSweepMs);
    this.sweep.unref();
    this.retry = setInterval(() => this.retryOwed(), owedRetryMs);
    this.retry.unref();
  }

  private silenceOf(alert: AlertNotification, nowMs: number): Silence | undefined {
    return this.silenceList.find(
      (candidate) =>
        candidate.tenant === alert.tenant &&
        candidate.startsAtMs <= nowMs &&
        nowMs < candidate.endsAtMs &&
        Object.entries(candidate.matchers).every(([name, value]) => alert.labels[name] === value),
    );
  }

  /** Persists what is owed, so that a restart (even SIGKILL) still delivers it; a failure to persist is logged, never stops delivery. */
  private mark(receiver: string, alert: AlertNotification, owed: boolean): Promise<void> {
    return this.store
      .markOwed([{ tenant: alert.tenant, fingerprint: alert.fingerprint, receiver, notification: alert, owed }])
      .catch((error: unknown) => this.logger.error({ reason: (error as Error).message }, 'could not record an owed notification'));
  }

  /**
   * Sends an alert to every notifier in the background, unless a silence
   * holds it back (which is recorded instead). A held firing alert is sent
   * when its silence ends while it still fires, as Alertmanager does.
   * Until a receiver takes it, a notification is owed in storage.
   */
  notify(alert: AlertNotification, nowMs = Date.now()): void {
    // A newer state replaces what was held; a resolution means nothing is owed any more.
    const wasHeld = this.held.delete(alert.fingerprint);
    const silence = this.silenceOf(alert, nowMs);
    if (silence) {
      if (alert.status === 'firing') {
        this.held.set(alert.fingerprint, alert);
        this.track(this.mark(heldReceiver, alert, true));
      } else if (wasHeld) this.track(this.mark(heldReceiver, alert, false));
      const attempt = {
        tenant: alert.tenant,
        fingerprint: alert.fingerprint,
        alertName: alert.labels.alertname ?? '',
        status: alert.status,
        receiver: `silenced by ${silence.id}`,
        attempt: 0,
        httpStatus: 0,
        error: '',
        atMs: nowMs,
      };
      this.track(
        this.store
          .recordAttempt(attempt)
          .catch((error: unknown) => this.logger.error({ reason: (error as Error).message }, 'could not record a silenced notification')),
      );
      return;
    }
    // Owed before the hold is settled: a crash between the two writes leaves it owed, never lost.
    this.track(
      (async () => {
        await Promise.all(this.notifiers.map((notifier) => this.mark(notifier.receiver, alert, true)));
        if (wasHeld) await this.mark(heldReceiver, alert, false);
        await Promise.all(this.notifiers.map((notifier) => this.deliver(notifier, alert)));
      })(),
    );
  }

  /** Delivers an owed notification and settles it once the receiver took (or refused) it; unreached, it stays owed. */
  private async deliver(notifier: HttpNotifier, alert: AlertNotification): Promise<void> {
    const key = `${notifier.receiver}\0${alert.tenant}\0${alert.fingerprint}`;
    const owed: Owed = { notifier, alert, sending: true };
    this.owed.set(key, owed);
    const outcome = await notifier.send(this.forReceivers(alert));
    owed.sending = false;
    if (outcome === 'unreachable' || this.owed.get(key) !== owed) return;
    this.owed.delete(key);
    await this.mark(notifier.receiver, alert, false);
  }

  /** Tries again the notifications whose receiver could not be reached. */
  private retryOwed(): void {
    for (const { notifier, alert, sending } of this.owed.values()) {
      if (!sending) this.track(this.deliver(notifier, alert));
    }
  }

  /** Takes up what was owed before a restart: held alerts that still fire, and undelivered notifications. */
  private async resumeOwed(): Promise<void> {
    const firing = new Set((await this.store.active()).filter((t) => t.state === 'firing').map((t) => `${t.tenant}\0${t.fingerprint}`));
    for (const { receiver, notification } of await this.store.owed<AlertNotification>()) {
      if (receiver === heldReceiver) {
        // Held for an alert that has since stopped firing: nothing is owed any more.
        if (firing.has(`${notification.tenant}\0${notification.fingerprint}`)) this.held.set(notification.fingerprint, notification);
        else this.track(this.mark(heldReceiver, notification, false));
        continue;
      }
      const notifier = this.notifiers.find((candidate) => candidate.isNamed(receiver));
      if (notifier) this.track(this.deliver(notifier, notification));
      else
        this.logger.warn(
          { receiver: shownReceiverName(receiver), alert: notification.labels.alertname },
          'a notification is owed to a receiver no longer configured',
        );
    }
  }

  /** Sends the held firing alerts that no silence covers any longer. */
  private releaseHeld(nowMs: number): void {
    for (const [fingerprint, alert] of this.held) {
      if (this.silenceOf(alert, nowMs)) continue;
      this.notify(alert, nowMs);
    }
  }

  silences(tenant: string): Silence[] {
    return this.silenceList.filter((silence) => silence.tenant === tenant);
  }

  async addSilence(
    tenant: string,
    input: { matchers: Record<string, string>; endsAtMs: number; comment: string; createdBy: string },
  ): Promise<Silence> {
    const silence: Silence = { tenant, id: randomUUID(), startsAtMs: Date.now(), ...input };
    await this.store.saveSilence(silence);
    this.silenceList.push(silence);
    await this.silenceReplica.send({ ...silence });
    return silence;
  }

  /** Ends a silence now; false when there is no such active silence. */
  async expireSilence(tenant: string, id: string): Promise<boolean> {
    const silence = this.silenceList.find(
      (candidate) => candidate.tenant === tenant && candidate.id === id && candidate.endsAtMs > Date.now(),
    );
    if (!silence) return false;
    silence.endsAtMs = Date.now();
    await this.store.saveSilence(silence);
    this.releaseHeld(Date.now());
    await this.silenceReplica.send({ ...silence });
    return true;
  }

  static async open(config: MeshlogConfig['alerting'], deps: AlertingDeps): Promise<Alerting> {
    const record = (attempt: Parameters<AlertStore['recordAttempt']>[0]) => deps.store.recordAttempt(attempt);
    const delivery = (receiver: {
      url: string;
      max_attempts: number;
      initial_backoff_ms: number;
      timeout_ms: number;
    }): DeliveryOptions => ({
      url: receiver.url,
      maxAttempts: receiver.max_attempts,
      initialBackoffMs: receiver.initial_backoff_ms,
      timeoutMs: receiver.timeout_ms,
    });
    const secretOf = (file: string) => readFileSync(file, 'utf8').trim();
    const notifiers = [
      ...config.webhooks.map(
        (hook) => new HttpNotifier('webhook', delivery(hook), signedWebhook(secretOf(hook.secret_file), hook.url), record, deps.logger),
      ),
      ...config.slack.map((slack) => new HttpNotifier('slack', delivery(slack), slackMessage, record, deps.logger)),
      ...config.pagerduty.map(
        (pd) => new HttpNotifier('pagerduty', delivery(pd), pagerDutyEvent(secretOf(pd.routing_key_file)), record, deps.logger),
      ),
    ];
    let alerting: Alerting | undefined;
    const notify = (alert: AlertNotification) => alerting?.notify(alert);
    const engine = new RuleEngine({ ...deps, notify, defaultIntervalMs: config.evaluation_interval_ms });
    alerting = new Alerting(engine, deps.store, notifiers, await deps.store.silences(), deps.logger, deps.fingerprints, deps.forReceivers);
    const groups: RuleGroup[] = config.rules_files.flatMap((file) => parseRuleFile(readFileSync(file, 'utf8'), basename(file), 'default'));
    for (const stored of await deps.store.ruleGroups()) {
      groups.push(parseRuleGroup(stored.yaml, stored.namespace, stored.tenant));
      alerting.groupYaml.set(groupKeyOf(stored), stored.yaml);
    }
    await engine.restore(groups);
    await alerting.resumeOwed();
    for (const group of groups) engine.setGroup(group);
    deps.logger.info(
      { groups: groups.length, rules: groups.reduce((n, group) => n + group.rules.length, 0), webhooks: notifiers.length },
      'alert rules loaded',
    );
    return alerting;
  }

  /** Ruler API: adds or replaces one group of the caller's tenant. */
  async putGroup(tenant: string, namespace: string, yaml: string): Promise<RuleGroup> {
    const group = await this.putGroupHere(tenant, namespace, yaml);
    await this.ruleGroupReplica.send({ tenant, namespace, name: group.name, yaml, deleted: false });
    return group;
  }

  async deleteGroup(tenant: string, namespace: string, name: string): Promise<boolean> {
    if (!(await this.removeGroupHere(tenant, namespace, name))) return false;
    await this.ruleGroupReplica.send({ tenant, namespace, name, yaml: '', deleted: true });
    return true;
  }

  private async putGroupHere(tenant: string, namespace: string, yaml: string): Promise<RuleGroup> {
    const group = parseRuleGroup(yaml, namespace, tenant);
    await this.store.saveRuleGroup({ tenant, namespace, name: group.name, yaml }, false);
    this.engine.setGroup(group);
    this.groupYaml.set(groupKeyOf({ tenant, namespace, name: group.name }), yaml);
    return group;
  }

  private async removeGroupHere(tenant: string, namespace: string, name: string): Promise<boolean> {
    this.groupYaml.delete(groupKeyOf({ tenant, namespace, name }));
    if (!this.engine.removeGroup(tenant, namespace, name)) return false;
    await this.store.saveRuleGroup({ tenant, namespace, name, yaml: '' }, true);
    return true;
  }

  private track(delivery: Promise<unknown>): void {
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  /** Stops evaluating; notifications already under way finish. */
  async stop(): Promise<void> {
    clearInterval(this.sweep);
    clearInterval(this.retry);
    await this.engine.stop();
    await Promise.allSettled([...this.deliveries]);
  }
}
