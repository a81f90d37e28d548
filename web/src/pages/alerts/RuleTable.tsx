import type { RuleGroup } from '@api/alerts';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';

type ListedRule = RuleGroup['rules'][number];

/** What an admin may do to a listed rule; absent for everyone else. */
export interface RuleActions {
  edit: (group: RuleGroup, rule: ListedRule) => void;
  remove: (group: RuleGroup, rule: ListedRule) => void;
}

/** Every rule of every group with its state (inactive, pending, firing), health and active instances. */
export function RuleTable({ groups, actions }: { groups: RuleGroup[] | undefined; actions?: RuleActions }) {
  const zone = useTimeZone();
  if (!groups) return <p class="dim">Loading…</p>;
  if (groups.length === 0)
    return (
      <p class="empty">
        {actions
          ? 'No alert rules in this tenant yet: create one with New rule.'
          : 'No alert rules in this tenant yet: an admin creates them here.'}
      </p>
    );
  return (
    <table class="grid" aria-label="alert rules">
      <thead>
        <tr>
          <th>Rule</th>
          <th>Group</th>
          <th>State</th>
          <th>Query</th>
          <th>For</th>
          <th>Health</th>
          <th>Last evaluation</th>
          {actions && <th />}
        </tr>
      </thead>
      <tbody>
        {groups.flatMap((group) =>
          group.rules.map((rule) => (
            <tr key={`${group.file}/${group.name}/${rule.name}`}>
              <td>
                <strong>{rule.name}</strong>
                {rule.alerts.map((alert) => (
                  <div class="dim" key={JSON.stringify(alert.labels)}>
                    {alert.state} since {formatTime(Date.parse(alert.activeAt), zone, false)}, value {alert.value}
                  </div>
                ))}
              </td>
              <td>
                {group.file}/{group.name}
              </td>
              <td>
                <span class={`state ${rule.state}`}>{rule.state}</span>
              </td>
              <td>
                <code>{rule.query}</code>
              </td>
              <td class="nowrap">{rule.duration}s</td>
              <td title={rule.lastError}>
                {rule.health}
                {rule.lastError && <div class="error">{rule.lastError}</div>}
              </td>
              <td>{rule.lastEvaluation.startsWith('0001') ? 'not yet' : formatTime(Date.parse(rule.lastEvaluation), zone, false)}</td>
              {actions && (
                <td class="nowrap">
                  <button type="button" class="small" aria-label={`edit ${rule.name}`} onClick={() => actions.edit(group, rule)}>
                    Edit
                  </button>{' '}
                  <button type="button" class="small" aria-label={`delete ${rule.name}`} onClick={() => actions.remove(group, rule)}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}
