import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

/** The Loghub 2k samples shared beside the repository (../shared/datasets/loghub). */
export const loghubDir = new URL('../../../../shared/datasets/loghub/', import.meta.url).pathname;

/**
 * Drain's published grouping accuracy per Loghub data set (Zhu et al., "Tools and Benchmarks for
 * Automated Log Parsing", ICSE-SEIP 2019), for the 12 data sets shared here. Drain had a hand-written
 * preprocessing regex per data set; our miner has one setting for all.
 */
export const drainGroupingAccuracy: Readonly<Record<string, number>> = {
  HDFS: 0.998,
  Hadoop: 0.948,
  Spark: 0.92,
  Zookeeper: 0.967,
  OpenStack: 0.733,
  BGL: 0.963,
  HPC: 0.887,
  Windows: 0.997,
  Linux: 0.69,
  Mac: 0.787,
  Android: 0.911,
  Apache: 1,
};

export interface LabelledLine {
  content: string;
  eventTemplate: string;
}

/** One data set's messages (the Content column) with their ground-truth templates. */
export function loghubLines(dataset: string): LabelledLine[] {
  const rows = parse(readFileSync(join(loghubDir, dataset, `${dataset}_2k.log_structured.csv`)), { columns: true }) as Record<
    string,
    string
  >[];
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
