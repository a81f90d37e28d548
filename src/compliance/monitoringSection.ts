import type { RulesFileContent } from '../config/configChanges.js';
import { maskMarker, ReadMasker } from '../query/readMasking.js';
import type { SilenceRow } from '../storage/stores/complianceQueries.js';
import { alertRulesInForce } from './alertRulesInForce.js';
import { configsInForce } from './configsInForce.js';
import { isoOfNs, type ReportSection, type SectionInput } from './reportModel.js';

/**
 * Monitoring: the alerting configuration and ruler rule groups in force
 * during the period (from config.change and alert_rules.* audit events), the
 * alerts raised in it, the notifications sent and how fast alerts were taken
 * on (the alerting tables, read only when they exist): a closed period reads
 * the same whenever it is regenerated.
 */
export async function monitoringSection(input: SectionInput): Promise<ReportSection> {
  const { sources, period } = input;
  const base = { id: 'monitoring', title: 'Monitoring: alert rules, alerts and notifications', criteria: ['CC7.2', 'CC7.3'] };
  const recorded = await configsInForce(input);
  // Before config changes were recorded, only the running configuration is known.
  const configurations =
    recorded.length > 0
      ? recorded.map((entry) => ({
          from: entry.from as string | null,
          to: entry.to as string | null,
          config_sha256: entry.sha256 as string | null,
          alerting: entry.config.alerting,
        }))
      : [{ from: null, to: null, config_sha256: null, alerting: sources.config.alerting }];
  const alertingInForce = configurations.map(({ from, to, config_sha256, alerting }) => ({
    from,
    to,
    config_sha256,
    enabled: alerting.enabled,
    rules_files: alerting.rules_files,
    // What the files said: recorded with each configuration since rules files' contents are part of it.
    rules_files_content: (alerting as { rules_files_content?: RulesFileContent[] }).rules_files_content ?? null,
    webhooks: alerting.webhooks.length,
  }));
  const { from: _from, to: _to, config_sha256: _sha256, ...atEnd } = alertingInForce.at(-1)!;
  const ruleGroups = await alertRulesInForce(input);
  const stored = await sources.queries.hasTable('alert_rule_groups');
  const transitions = stored && (await sources.queries.hasTable('alert_states')) ? await sources.queries.alertTransitions(period) : [];
  const attempts = stored && (await sources.queries.hasTable('notification_attempts'));
  const notifications = attempts ? await sources.queries.notificationAttempts(period) : [];
  const undelivered = attempts ? await sources.queries.undeliveredNotifications(period) : [];
  const acknowledgements =
    stored && (await sources.queries.hasTable('alert_acknowledgements')) ? await sources.queries.alertAcknowledgements(period) : [];
  const silences = stored && (await sources.queries.hasTable('alert_silences')) ? await sources.queries.silencesInForce(period) : [];
  const masker = new ReadMasker({ fields: sources.config.masking.fields });
  const silencesShown = silences.map((silence) => withMaskedMatchers(silence, masker));
  const longSilences = silences.filter((silence) => silence.hours > longSilenceHours);
  const times = acknowledgements.flatMap((row) => (row.seconds_to_acknowledge === null ? [] : [row.seconds_to_acknowledge]));
  const unacknowledged = acknowledgements.filter((row) => row.acknowledged_by === null);
  const data = {
    ...atEnd,
    alerting_in_force: alertingInForce,
    rule_groups_in_force: ruleGroups,
    alert_transitions: transitions,
    notification_attempts: notifications,
    undelivered_notifications: undelivered,
    silences_in_force: silencesShown,
    alerts_fired: acknowledgements,
    alerts_acknowledged: times.length,
    mean_seconds_to_acknowledge: times.length > 0 ? Number((times.reduce((sum, t) => sum + t, 0) / times.length).toFixed(3)) : null,
    note: 'alerting configuration as recorded in the config.change events of the period (the last one before it, then each change); ruler rule groups replayed from the alert_rules.create/update/delete events, each version with the part of the period it was in force; alerts, notifications and acknowledgements from the alerting tables, up to the end of the period; silences that overlapped the period as they stood at its end, each with the notifications it held back in it (values of masked labels masked)',
  };
  // What watches the logs when the period closes: a group deleted during it no longer does.
  const groupsAtEnd = ruleGroups.filter((group) => group.to === isoOfNs(period.toNs));
  if (!atEnd.enabled || (groupsAtEnd.length === 0 && atEnd.rules_files.length === 0)) {
    const earlier =
      ruleGroups.length > 0 ? ` at the end of the period (${ruleGroups.length} rule group versions were in force during it)` : '';
    return {
      ...base,
      data,
      status: 'attention',
      reason: `no alert rules configured${earlier}: nothing watches the logs for security events`,
    };
  }
  const firing = transitions.filter((row) => row.status === 'firing').reduce((sum, row) => sum + Number(row.count), 0);
  // Every finding of the period, not only the first: an auditor reads them all in the reason.
  const names = [...new Set(unacknowledged.map((row) => row.name))].join(', ');
  const findings = [
    undelivered.length > 0
      ? `${undelivered.reduce((sum, row) => sum + Number(row.count), 0)} alert notifications were never delivered`
      : '',
    unacknowledged.length > 0
      ? `${unacknowledged.length} of ${acknowledgements.length} alerts that fired were never acknowledged (${names})`
      : '',
    longSilences.length > 0
      ? `${longSilences.length} ${longSilences.length === 1 ? 'silence' : 'silences'} of more than ${longSilenceHours / 24} days muted alerts in the period (${longSilences
          .map((silence) => `${silence.id} by ${silence.created_by} for ${silence.hours} h, ${silence.notifications_held} held back`)
          .join(', ')})`
      : '',
  ].filter(Boolean);
  if (findings.length > 0) return { ...base, data, status: 'attention', reason: findings.join('; ') };
  const mtta =
    data.mean_seconds_to_acknowledge === null ? '' : `, all acknowledged, mean time to acknowledge ${data.mean_seconds_to_acknowledge} s`;
  return {
    ...base,
    data,
    status: 'pass',
    reason: `${groupsAtEnd.length + atEnd.rules_files.length} rule groups or files in force; ${firing} alerts fired in the period${mtta}${silencesText(silences)}`,
  };
}

/** A silence longer than a week is no maintenance window: monitoring is muted, and an auditor asks who decided and why. */
const longSilenceHours = 7 * 24;

/** A report leaves the server: matcher values of labels masked for readers (masking.fields) are masked in it too. */
function withMaskedMatchers(silence: SilenceRow, masker: ReadMasker): SilenceRow {
  const matchers = Object.fromEntries(
    Object.entries(silence.matchers).map(([name, value]) => [name, masker.isSensitive(name) ? maskMarker : value]),
  );
  return { ...silence, matchers };
}

function silencesText(silences: SilenceRow[]): string {
  if (silences.length === 0) return '';
  const held = silences.reduce((sum, silence) => sum + Number(silence.notifications_held), 0);
  return `; ${silences.length} ${silences.length === 1 ? 'silence' : 'silences'} in force, ${held} notifications held back`;
}
