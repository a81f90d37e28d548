import type { BenchRole } from './clusterCases.js';

/** What one case of the cluster bench measured. */
export interface CaseFigures {
  name: string;
  ackedPerSecond: number;
  /** Until every node that stores the stream committed every record. */
  committedPerSecond: number;
  /** µs of CPU per record, by process name, and summed by role. */
  cpuByProcess: Map<string, { role: BenchRole; micros: number }>;
  cpuByRole: Map<BenchRole, number>;
  /** Mean records per group commit over the window, by storing node. */
  recordsPerCommit: Map<string, number>;
  /** One-record requests sent one at a time: send → acknowledgement, ms. */
  ackLatencies: number[];
  /** Per watched storing node: acknowledgement → the record on its live tail, ms. */
  visibleAfterAck: Map<string, number[]>;
  /** Send → the record on the live tail of every watched node, ms. */
  searchable: number[];
  peakRss: Map<string, number>;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
};
const ms = (value: number) => value.toFixed(1);
const p50p99 = (values: number[]) => `${ms(percentile(values, 0.5))} / ${ms(percentile(values, 0.99))}`;
/** This case's p50 and p99 minus the baseline's (the standalone node's). */
const added = (values: number[], baseline: number[] | undefined) =>
  baseline
    ? `${ms(percentile(values, 0.5) - percentile(baseline, 0.5))} / ${ms(percentile(values, 0.99) - percentile(baseline, 0.99))}`
    : '';
const totalCpu = (f: CaseFigures) => [...f.cpuByRole.values()].reduce((sum, micros) => sum + micros, 0);

export function showCase(f: CaseFigures, standalone: CaseFigures | undefined): void {
  console.log(`\n== ${f.name}`);
  console.log(`acked ${Math.round(f.ackedPerSecond)} lines/s, committed on every storing node ${Math.round(f.committedPerSecond)} lines/s`);
  console.log(
    `CPU µs/record by process: ${[...f.cpuByProcess].map(([name, { role, micros }]) => `${name} (${role}) ${micros.toFixed(1)}`).join(', ')}`,
  );
  console.log(
    `CPU µs/record by role: ${[...f.cpuByRole].map(([role, micros]) => `${role} ${micros.toFixed(1)}`).join(', ')}; total ${totalCpu(f).toFixed(1)}`,
  );
  console.log(`records per commit: ${[...f.recordsPerCommit].map(([name, records]) => `${name} ${Math.round(records)}`).join(', ')}`);
  const vsStandalone = (values: number[], baseline: number[] | undefined) =>
    baseline && f !== standalone ? ` (standalone's + ${added(values, baseline)})` : '';
  console.log(
    `one-record request, send → ack p50 / p99: ${p50p99(f.ackLatencies)} ms${vsStandalone(f.ackLatencies, standalone?.ackLatencies)}`,
  );
  for (const [name, delays] of f.visibleAfterAck) console.log(`  ack → on ${name}'s live tail p50 / p99: ${p50p99(delays)} ms`);
  console.log(`  send → on every watched tail p50 / p99: ${p50p99(f.searchable)} ms${vsStandalone(f.searchable, standalone?.searchable)}`);
  console.log(`peak RSS MiB: ${[...f.peakRss].map(([name, mib]) => `${name} ${Math.round(mib)}`).join(', ')}`);
}

/** One markdown table of every case, as docs/benchmarks.md shows it. */
export function showSummary(all: CaseFigures[]): void {
  const standalone = all.find((f) => f.name === 'standalone');
  console.log(
    '\n| case | acked lines/s | committed on every storing node, lines/s | CPU µs/record by role | CPU µs/record, total | records per commit | send → ack p50 / p99 ms | added to standalone | send → searchable on every storing node p50 / p99 ms | added to standalone |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const f of all) {
    const roles = [...f.cpuByRole].map(([role, micros]) => `${role} ${micros.toFixed(0)}`).join(', ');
    const vs = (values: number[], baseline: number[] | undefined) => (f === standalone ? '' : added(values, baseline));
    console.log(
      `| ${f.name} | ${Math.round(f.ackedPerSecond)} | ${Math.round(f.committedPerSecond)} | ${roles} | ${totalCpu(f).toFixed(0)} | ${[...f.recordsPerCommit.values()].map((records) => Math.round(records)).join(', ')} | ${p50p99(f.ackLatencies)} | ${vs(f.ackLatencies, standalone?.ackLatencies)} | ${p50p99(f.searchable)} | ${vs(f.searchable, standalone?.searchable)} |`,
    );
  }
}
