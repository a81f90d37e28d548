import type { Incident, TimelineEntry } from '../model/incident.js';

const duration = (seconds: number | null): string => {
  if (seconds === null) return 'not yet';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
};

/** One timeline event as a line of the review. */
function describe(entry: TimelineEntry): string {
  const d = entry.detail;
  switch (entry.kind) {
    case 'opened':
      return `opened (${String(d.source)}): ${String(d.title)}, severity ${String(d.severity)}`;
    case 'note':
      return `note: ${String(d.text).replace(/\s*\n\s*/g, ' ')}`;
    case 'state':
      return `state ${String(d.from)} → ${String(d.to)}${d.reason ? ` (${String(d.reason)})` : ''}`;
    case 'owner':
    case 'severity':
    case 'title':
      return `${entry.kind} ${String(d.from) || '(none)'} → ${String(d.to)}`;
    case 'pin': {
      const pin = d.pin as Record<string, unknown>;
      if (pin.kind === 'line') return `pinned line ${String(pin.record)} (${String(pin.service)}): ${String(pin.line).slice(0, 160)}`;
      if (pin.kind === 'query') return `pinned query \`${String(pin.query)}\` from ${String(pin.from)} to ${String(pin.to)}`;
      if (pin.kind === 'trace') return `pinned trace ${String(pin.trace_id)}`;
      return `pinned pattern of ${String(pin.service)}: \`${String(pin.pattern)}\``;
    }
    case 'alert_firing':
      return `alert ${String(d.alertname)} firing${d.summary ? `: ${String(d.summary)}` : ''}`;
    case 'alert_resolved':
      return `alert ${String(d.alertname)} resolved`;
    case 'exported':
      return `exported as a signed bundle (${String(d.records)} records)`;
    default:
      return entry.kind;
  }
}

/** A post-incident review to complete: the facts and the timeline filled in, the questions left for people. */
export function reviewMarkdown(incident: Incident): string {
  const lines = [
    `# Post-incident review: ${incident.title}`,
    '',
    `| | |`,
    `| --- | --- |`,
    `| Incident | ${incident.id} (tenant ${incident.tenant}) |`,
    `| Severity | ${incident.severity} |`,
    `| Owner | ${incident.owner || '(unassigned)'} |`,
    `| State | ${incident.state} |`,
    `| Opened | ${incident.opened_at} by ${incident.opened_by} (${incident.source}) |`,
    `| Acknowledged | ${incident.acknowledged_at ?? 'not yet'}${incident.acknowledged_by ? ` by ${incident.acknowledged_by}` : ''} |`,
    `| Mitigated | ${incident.mitigated_at ?? 'not yet'} |`,
    `| Resolved | ${incident.resolved_at ?? 'not yet'} |`,
    `| Time to acknowledge | ${duration(incident.seconds_to_acknowledge)} |`,
    `| Time to resolve | ${duration(incident.seconds_to_resolve)} |`,
    '',
    '## Alerts',
    '',
    ...(incident.alerts.length === 0
      ? ['None linked.']
      : incident.alerts.map(
          (alert) =>
            `- ${alert.alertname} (${alert.fingerprint}): fired ${alert.fired_at}, ${alert.resolved_at ? `resolved ${alert.resolved_at}` : 'still firing'}`,
        )),
    '',
    '## Timeline',
    '',
    ...incident.timeline.map((entry) => `- ${entry.at} · ${entry.by} · ${describe(entry).replace(/\|/g, '\\|')}`),
    '',
    '## Evidence',
    '',
    `${incident.pins.filter((pin) => pin.kind === 'line').length} lines, ${incident.pins.filter((pin) => pin.kind === 'query').length} queries, ${incident.pins.filter((pin) => pin.kind === 'trace').length} traces and ${incident.pins.filter((pin) => pin.kind === 'pattern').length} patterns pinned; the signed bundle carries each line with its seal and inclusion proof.`,
    '',
    '## Impact',
    '',
    '_Who and what was affected, for how long._',
    '',
    '## Root cause',
    '',
    '_What made it happen; what let it happen._',
    '',
    '## What went well, what did not',
    '',
    '_Detection, response, communication._',
    '',
    '## Action items',
    '',
    '| Action | Owner | Due |',
    '| --- | --- | --- |',
    '| | | |',
    '',
  ];
  return lines.join('\n');
}
