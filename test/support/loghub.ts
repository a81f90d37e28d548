import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

/** The Loghub 2k samples shared beside the repository (../shared/datasets/loghub). */
export const loghubDir = new URL('../../../../shared/datasets/loghub/', import.meta.url).pathname;

export interface LabelledLine {
  content: string;
  eventTemplate: string;
}

/** One data set's messages (the Content column) with their ground-truth templates. */
export function loghubLines(dataset: string): LabelledLine[] {
  const rows = parse(readFileSync(join(loghubDir, dataset, `${dataset}_2k.log_structured.csv`)), { columns: true }) as Record<string, string>[];
  return rows.map((row) => ({ content: row.Content, eventTemplate: row.EventTemplate }));
}

/**
 * Loghub's grouping accuracy (Zhu et al., ICSE-SEIP 2019): a line counts as
 * right when the set of lines in its mined group equals the set in its
 * ground-truth group.
 */
export function groupingAccuracy(truth: string[], mined: string[]): number {
  const minedGroups = new Map<string, number[]>();
  mined.forEach((group, line) => minedGroups.set(group, [...(minedGroups.get(group) ?? []), line]));
  let correct = 0;
  for (const lines of minedGroups.values()) {
    const truthOfFirst = truth[lines[0]];
    if (!lines.every((line) => truth[line] === truthOfFirst)) continue;
    const truthSize = truth.filter((group) => group === truthOfFirst).length;
    if (truthSize === lines.length) correct += lines.length;
  }
  return correct / truth.length;
}
