import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { QueryLimits, SqlRunner } from '../query/logql/engine.js';
import type { AlertStore } from '../storage/alertStore.js';
import { WebhookNotifier, type AlertNotification } from './notify/webhookNotifier.js';
import { RuleEngine } from './ruleEngine.js';
import { parseRuleFile, parseRuleGroup, type RuleGroup } from './rules/ruleGroups.js';

export interface AlertingDeps {
  runner: SqlRunner;
  database: string;
  limits: QueryLimits;
  store: AlertStore;
  logger: Logger;
}

/**
 * Alerting of one server: rule groups from the configured files and from
 * the ruler API (kept in storage), their engine, and the notifiers.
 */
export class Alerting {
  private readonly deliveries = new Set<Promise<unknown>>();

  private constructor(
    readonly engine: RuleEngine,
    readonly store: AlertStore,
    private readonly notifiers: WebhookNotifier[],
  ) {}

  /** Sends an alert to every notifier, in the background. */
  notify(alert: AlertNotification): void {
    for (const notifier of this.notifiers) this.track(notifier.send(alert));
  }

  static async open(config: MeshlogConfig['alerting'], deps: AlertingDeps): Promise<Alerting> {
    const notifiers = config.webhooks.map(
      (webhook) =>
        new WebhookNotifier(
          {
            url: webhook.url,
            secret: readFileSync(webhook.secret_file, 'utf8').trim(),
            maxAttempts: webhook.max_attempts,
            initialBackoffMs: webhook.initial_backoff_ms,
            timeoutMs: webhook.timeout_ms,
          },
          (attempt) => deps.store.recordAttempt(attempt),
          deps.logger,
        ),
    );
    let alerting: Alerting | undefined;
    const notify = (alert: AlertNotification) => alerting?.notify(alert);
    const engine = new RuleEngine({ ...deps, notify, defaultIntervalMs: config.evaluation_interval_ms });
    alerting = new Alerting(engine, deps.store, notifiers);
    const groups: RuleGroup[] = config.rules_files.flatMap((file) => parseRuleFile(readFileSync(file, 'utf8'), basename(file), 'default'));
    for (const stored of await deps.store.ruleGroups()) groups.push(parseRuleGroup(stored.yaml, stored.namespace, stored.tenant));
    await engine.restore(groups);
    for (const group of groups) engine.setGroup(group);
    deps.logger.info({ groups: groups.length, rules: groups.reduce((n, group) => n + group.rules.length, 0), webhooks: notifiers.length }, 'alert rules loaded');
    return alerting;
  }

  /** Ruler API: adds or replaces one group of the caller's tenant. */
  async putGroup(tenant: string, namespace: string, yaml: string): Promise<RuleGroup> {
    const group = parseRuleGroup(yaml, namespace, tenant);
    await this.store.saveRuleGroup({ tenant, namespace, name: group.name, yaml }, false);
    this.engine.setGroup(group);
    return group;
  }

  async deleteGroup(tenant: string, namespace: string, name: string): Promise<boolean> {
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
    await this.engine.stop();
    await Promise.allSettled([...this.deliveries]);
  }
}
