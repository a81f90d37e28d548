import type { ReportSection, SectionInput } from './reportModel.js';

/** Monitoring: alert rules in force, alerts raised in the period, notifications sent and how fast alerts were taken on (read only when the alerting tables exist). */
export async function monitoringSection({ sources, period }: SectionInput): Promise<ReportSection> {
  const alerting = sources.config.alerting;
  const base = { id: 'monitoring', title: 'Monitoring: alert rules, alerts and notifications', criteria: ['CC7.2', 'CC7.3'] };
  const stored = await sources.queries.hasTable('alert_rule_groups');
  const ruleGroups = stored ? await sources.queries.alertRuleGroups(period.tenant) : [];
  const transitions = stored && (await sources.queries.hasTable('alert_states')) ? await sources.queries.alertTransitions(period) : [];
  const attempts = stored && (await sources.queries.hasTable('notification_attempts'));
  const notifications = attempts ? await sources.queries.notificationAttempts(period) : [];
  const undelivered = attempts ? await sources.queries.undeliveredNotifications(period) : [];
  const acknowledgements = stored && (await sources.queries.hasTable('alert_acknowledgements')) ? await sources.queries.alertAcknowledgements(period) : [];
  const times = acknowledgements.flatMap((row) => (row.seconds_to_acknowledge === null ? [] : [row.seconds_to_acknowledge]));
  const unacknowledged = acknowledgements.filter((row) => row.acknowledged_by === null);
  const data = {
    enabled: alerting.enabled,
    rules_files: alerting.rules_files,
    stored_rule_groups: ruleGroups,
    webhooks: alerting.webhooks.length,
    alert_transitions: transitions,
    notification_attempts: notifications,
    undelivered_notifications: undelivered,
    alerts_fired: acknowledgements,
    alerts_acknowledged: times.length,
    mean_seconds_to_acknowledge: times.length > 0 ? Number((times.reduce((sum, t) => sum + t, 0) / times.length).toFixed(3)) : null,
  };
  if (!alerting.enabled || (ruleGroups.length === 0 && alerting.rules_files.length === 0)) {
    return { ...base, data, status: 'attention', reason: 'no alert rules configured: nothing watches the logs for security events' };
  }
  const firing = transitions.filter((row) => row.status === 'firing').reduce((sum, row) => sum + Number(row.count), 0);
  if (undelivered.length > 0) {
    return { ...base, data, status: 'attention', reason: `${undelivered.reduce((sum, row) => sum + Number(row.count), 0)} alert notifications were never delivered` };
  }
  if (unacknowledged.length > 0) {
    const names = [...new Set(unacknowledged.map((row) => row.name))].join(', ');
    return { ...base, data, status: 'attention', reason: `${unacknowledged.length} of ${acknowledgements.length} alerts that fired were never acknowledged (${names})` };
  }
  const mtta = data.mean_seconds_to_acknowledge === null ? '' : `, all acknowledged, mean time to acknowledge ${data.mean_seconds_to_acknowledge} s`;
  return { ...base, data, status: 'pass', reason: `${ruleGroups.length + alerting.rules_files.length} rule groups or files in force; ${firing} alerts fired in the period${mtta}` };
}
