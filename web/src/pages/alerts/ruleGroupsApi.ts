import { api } from '../../api/client';
import type { RuleGroup } from '@api/alerts';

/** One rule as the editor holds it, and as Loki's ruler API takes it. */
export interface RuleInput {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Where a rule lives: Loki's namespace and group. */
export interface RulePlace {
  namespace: string;
  group: string;
}

type ListedRule = RuleGroup['rules'][number];

const durationText = (seconds: number) => `${Math.round(seconds * 1000)}ms`;

function inputOf(rule: ListedRule): RuleInput {
  return {
    alert: rule.name,
    expr: rule.query,
    ...(rule.duration > 0 ? { for: durationText(rule.duration) } : {}),
    labels: rule.labels,
    annotations: rule.annotations,
  };
}

const findGroup = (groups: RuleGroup[], place: RulePlace) =>
  groups.find((group) => group.file === place.namespace && group.name === place.group);

/**
 * Writes a group with `rules` (the ruler API replaces a group whole), or
 * deletes it when no rule is left. JSON is YAML, so the group goes as JSON.
 */
async function writeGroup(place: RulePlace, intervalSeconds: number | undefined, rules: RuleInput[]): Promise<void> {
  const path = `/loki/api/v1/rules/${encodeURIComponent(place.namespace)}`;
  if (rules.length === 0) {
    await api(`${path}/${encodeURIComponent(place.group)}`, { method: 'DELETE' });
    return;
  }
  await api(path, {
    method: 'POST',
    body: { name: place.group, ...(intervalSeconds ? { interval: durationText(intervalSeconds) } : {}), rules },
  });
}

/** Saves `rule` into `place` (replacing `replacing`, which may live in another group), keeping the other rules of each group. */
export async function saveRule(
  groups: RuleGroup[],
  place: RulePlace,
  intervalSeconds: number | undefined,
  rule: RuleInput,
  replacing?: RulePlace & { alert: string },
): Promise<void> {
  const target = findGroup(groups, place);
  const samePlace = replacing && replacing.namespace === place.namespace && replacing.group === place.group;
  const kept = (target?.rules ?? []).filter((existing) => !(samePlace && existing.name === replacing.alert)).map(inputOf);
  if (kept.some((existing) => existing.alert === rule.alert)) throw new Error(`group ${place.group} already has a rule ${rule.alert}`);
  await writeGroup(place, intervalSeconds ?? target?.interval, [...kept, rule]);
  if (replacing && !samePlace) await deleteRule(groups, replacing);
}

/** Removes one rule from its group (the group goes when it was the last). */
export async function deleteRule(groups: RuleGroup[], place: RulePlace & { alert: string }): Promise<void> {
  const group = findGroup(groups, place);
  if (!group) throw new Error(`no rule group ${place.namespace}/${place.group}`);
  await writeGroup(place, group.interval, group.rules.filter((rule) => rule.name !== place.alert).map(inputOf));
}
