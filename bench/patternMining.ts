/**
 * Grouping accuracy (Loghub's metric) and throughput of the pattern miner
 * on one core: lines per CPU second over
 * each Loghub 2k sample (the Content column), mined ROUNDS times by one
 * miner (after one warm-up round, so the figure is the steady state of a
 * miner that already knows the templates) and once by a fresh miner (cold:
 * every template is learnt during the run). One line of figures per case,
 * with Drain's published grouping accuracy beside ours.
 *
 *   npx tsc -p . && node dist/bench/patternMining.js
 */
import { DrainMiner } from '../src/pipeline/patterns/drainMiner.js';
import { drainGroupingAccuracy, groupingAccuracy, loghubLines } from '../test/support/loghub.js';

const rounds = Number(process.env.ROUNDS ?? 20);
const datasets = Object.keys(drainGroupingAccuracy);

function cpuSeconds(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function signed(difference: number): string {
  return `${difference >= 0 ? '+' : '-'}${Math.abs(difference).toFixed(3)}`;
}

let totalLines = 0;
let totalSeconds = 0;
let accuracySum = 0;
let drainSum = 0;
for (const dataset of datasets) {
  const labelled = loghubLines(dataset);
  const messages = labelled.map((line) => line.content);
  const cold = new DrainMiner();
  const ids: string[] = [];
  const coldSeconds = cpuSeconds(() => {
    for (const message of messages) ids.push(cold.add(message).id);
  });
  const accuracy = groupingAccuracy(
    labelled.map((line) => line.eventTemplate),
    ids,
  );
  const drain = drainGroupingAccuracy[dataset];
  accuracySum += accuracy;
  drainSum += drain;
  const warm = new DrainMiner();
  for (const message of messages) warm.add(message);
  const warmSeconds = cpuSeconds(() => {
    for (let round = 0; round < rounds; round++) for (const message of messages) warm.add(message);
  });
  totalLines += messages.length * rounds;
  totalSeconds += warmSeconds;
  console.log(
    `${dataset.padEnd(10)} grouping accuracy ${accuracy.toFixed(3)} (Drain ${drain.toFixed(3)}, ${signed(accuracy - drain)})  warm ${Math.round((messages.length * rounds) / warmSeconds).toLocaleString('en')} lines/s` +
      `  cold ${Math.round(messages.length / coldSeconds).toLocaleString('en')} lines/s  templates ${warm.size}`,
  );
}
const average = accuracySum / datasets.length;
const drainAverage = drainSum / datasets.length;
console.log(
  `average    grouping accuracy ${average.toFixed(3)} (Drain ${drainAverage.toFixed(3)}, ${signed(average - drainAverage)})  warm ${Math.round(totalLines / totalSeconds).toLocaleString('en')} lines/s`,
);
