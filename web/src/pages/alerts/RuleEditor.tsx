import { useState } from 'preact/hooks';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { backtestRule, type Backtest } from './ruleBacktest';
import { saveRule, type RuleInput } from './ruleGroupsApi';
import type { RuleGroup } from '@api/alerts';

/** The rule being edited, as listed (absent for a new rule). */
export interface EditedRule {
  group: RuleGroup;
  rule: RuleGroup['rules'][number];
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `1m30s`, `300ms`, `2h` → ms; undefined when it is not a duration. */
export function durationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(amount) * units[unit];
  return total;
}

/** `severity=page, team=payments` ⇄ labels. */
const labelsText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([name, value]) => `${name}=${value}`)
    .join(', ');
function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((piece) => piece.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(part);
    if (!match) return undefined;
    labels[match[1]] = match[2];
  }
  return labels;
}

const windows = [
  { label: 'last hour', ms: 3_600_000 },
  { label: 'last 6 hours', ms: 6 * 3_600_000 },
  { label: 'last 24 hours', ms: 24 * 3_600_000 },
];

/** Create or edit one alerting rule, and replay it over recent data before saving it. */
export function RuleEditor({
  groups,
  edited,
  onDone,
}: {
  groups: RuleGroup[];
  edited: EditedRule | undefined;
  onDone: (saved: boolean) => void;
}) {
  const zone = useTimeZone();
  const [namespace, setNamespace] = useState(edited?.group.file ?? 'ui');
  const [group, setGroup] = useState(edited?.group.name ?? 'on-call');
  const [interval, setIntervalText] = useState(edited?.group.interval ? `${edited.group.interval}s` : '1m');
  const [alert, setAlert] = useState(edited?.rule.name ?? '');
  const [expr, setExpr] = useState(edited?.rule.query ?? '');
  const [forText, setForText] = useState(edited ? `${edited.rule.duration}s` : '5m');
  const [labels, setLabels] = useState(edited ? labelsText(edited.rule.labels) : 'severity=page');
  const [summary, setSummary] = useState(edited?.rule.annotations.summary ?? '');
  const [windowMs, setWindowMs] = useState(windows[1].ms);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [backtest, setBacktest] = useState<Backtest | undefined>();

  /** The form as a rule, or an error message. */
  const read = (): { rule: RuleInput; forMs: number; intervalMs: number } | string => {
    const forMs = durationMs(forText);
    const intervalMs = durationMs(interval);
    const parsedLabels = parseLabels(labels);
    if (!/^[A-Za-z_][A-Za-z0-9_:]*$/.test(alert)) return 'alert name: letters, digits, _ and :';
    if (!expr.trim())
      return 'expression: a metric query with a condition, e.g. sum(count_over_time({service_name="checkout"} |= "error" [5m])) > 10';
    if (forMs === undefined) return 'for: a duration such as 5m';
    if (intervalMs === undefined || intervalMs <= 0) return 'evaluate every: a duration such as 1m';
    if (!parsedLabels) return 'labels: name=value pairs separated by commas';
    const annotations: Record<string, string> = { ...(edited?.rule.annotations ?? {}) };
    if (summary) annotations.summary = summary;
    else delete annotations.summary;
    return {
      rule: { alert, expr: expr.trim(), ...(forMs > 0 ? { for: `${forMs}ms` } : {}), labels: parsedLabels, annotations },
      forMs,
      intervalMs,
    };
  };

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    try {
      await action();
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const test = () => {
    const form = read();
    if (typeof form === 'string') return setError(form);
    void run(async () => setBacktest(await backtestRule(form.rule.expr, form.forMs, form.intervalMs, windowMs)));
  };
  const save = (event: Event) => {
    event.preventDefault();
    const form = read();
    if (typeof form === 'string') return setError(form);
    void run(async () => {
      const replacing = edited && { namespace: edited.group.file, group: edited.group.name, alert: edited.rule.name };
      await saveRule(groups, { namespace, group }, form.intervalMs / 1000, form.rule, replacing);
      onDone(true);
    });
  };

  return (
    <form class="rule-editor" aria-label={edited ? `edit rule ${edited.rule.name}` : 'new rule'} onSubmit={save}>
      <h3>{edited ? `Edit ${edited.rule.name}` : 'New rule'}</h3>
      <div class="fields">
        <label>
          Alert name
          <input value={alert} onInput={(e) => setAlert(e.currentTarget.value)} placeholder="CheckoutErrors" />
        </label>
        <label>
          Namespace
          <input value={namespace} onInput={(e) => setNamespace(e.currentTarget.value)} size={10} />
        </label>
        <label>
          Group
          <input value={group} onInput={(e) => setGroup(e.currentTarget.value)} size={12} />
        </label>
        <label>
          Evaluate every
          <input value={interval} onInput={(e) => setIntervalText(e.currentTarget.value)} size={6} />
        </label>
        <label>
          For
          <input value={forText} onInput={(e) => setForText(e.currentTarget.value)} size={6} />
        </label>
      </div>
      <label>
        Expression
        <textarea
          class="code"
          rows={2}
          value={expr}
          onInput={(e) => setExpr(e.currentTarget.value)}
          placeholder='sum by (service_name) (count_over_time({service_name="checkout"} |= "error" [5m])) > 10'
        />
      </label>
      <div class="fields">
        <label class="grow">
          Labels
          <input value={labels} onInput={(e) => setLabels(e.currentTarget.value)} placeholder="severity=page, team=payments" />
        </label>
        <label class="grow">
          Summary
          <input
            value={summary}
            onInput={(e) => setSummary(e.currentTarget.value)}
            placeholder="{{ $labels.service_name }} logged {{ $value }} errors"
          />
        </label>
      </div>
      <div class="actions">
        <select aria-label="test window" value={windowMs} onChange={(e) => setWindowMs(Number(e.currentTarget.value))}>
          {windows.map((window) => (
            <option key={window.ms} value={window.ms}>
              {window.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={test} disabled={busy}>
          Test against recent data
        </button>
        <span class="spacer" />
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={busy}>
          Save rule
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {backtest && (
        <div class="backtest" role="region" aria-label="test result">
          {backtest.fired.length === 0 ? (
            <p>
              Would not have fired between {formatTime(backtest.fromMs, zone, false)} and {formatTime(backtest.toMs, zone, false)}{' '}
              (evaluated every {backtest.stepSeconds} s).
            </p>
          ) : (
            <ul>
              {backtest.fired.map((fired) => (
                <li key={JSON.stringify(fired.labels)}>
                  Would have fired at{' '}
                  <strong>
                    <time dateTime={new Date(fired.firstMs).toISOString()}>{formatTime(fired.firstMs, zone, false)}</time>
                  </strong>
                  {Object.keys(fired.labels).length > 0 && <span class="mono"> {`{${labelsText(fired.labels)}}`}</span>}, value{' '}
                  {fired.value}
                  {fired.times > 1 && `, ${fired.times} times in the window`}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}
