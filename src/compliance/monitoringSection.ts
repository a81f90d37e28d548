import type { ReportSection, SectionInput } from './reportModel.js';

/** Monitoring: alert rules in force, alerts raised in the period and notifications sent (read only when the alerting tables exist). */
export async function monitoringSection({ sources, period }: SectionInput): Promise<ReportSection> {
  const alerting = sources.config.alerting;
  const base = { id: 'monitoring', title: 'Monitoring: alert rules, alerts and notifications', criteria: ['CC7.2', 'CC7.3'] };
  const stored = await sources.queries.hasTable('alert_rule_groups');
  const ruleGroups = stored ? await sources.queries.alertRuleGroups(period.tenant) : [];
  const transitions = stored && (await sources.queries.hasTable('alert_states')) ? await sources.queries.alertTransitions(period) : [];
  const attempts = stored && (await sources.queries.hasTable('notification_attempts'));
  const notifications = attempts ? await sources.queries.notificationAttempts(period) : [];
  const undelivered = attempts ? await sources.queries.undeliveredNotifications(period) : [];
  const data = {
    enabled: alerting.enabled,
    rules_files: alerting.rules_files,
    stored_rule_groups: ruleGroups,
    webhooks: alerting.webhooks.length,
    alert_transitions: transitions,
    notification_attempts: notifications,
    undelivered_notifications: undelivered,
  };
  if (!alerting.enabled || (ruleGroups.length === 0 && alerting.rules_files.length === 0)) {
    return { ...base, data, status: 'attention', reason: 'no alert rules configured: nothing watches the logs for security events' };
  }
  const firing = transitions.filter((row) => row.status === 'firing').reduce((sum, row) => sum + Number(row.count), 0);
  if (undelivered.length > 0) {
    return { ...base, data, status: 'attention', reason: `${undelivered.reduce((sum, row) => sum + Number(row.count), 0)} alert notifications were never delivered` };
  }
  return { ...base, data, status: 'pass', reason: `${ruleGroups.length + alerting.rules_files.length} rule groups or files in force; ${firing} alerts fired in the period` };
}
