/**
 * What a cluster costs per record, by role, and what the stream hop adds to
 * an acknowledgement. Each case starts its own processes (meshlog nodes and
 * nats-server), sends RECORDS OTLP/JSON records (BATCH a request, CLIENTS
 * concurrent clients) after a warm-up, and prints:
 * - lines/s acknowledged, and committed on every node that stores the stream;
 * - CPU (user + system, /proc/<pid>/stat) of every meshlog and nats-server
 *   process over that window, in µs per record, per process, per role and in
 *   total: on a machine with few cores the cluster's processes share them, so
 *   CPU per record says what a role costs where a speed-up would not;
 * - then, one at a time, PROBES one-record requests: acknowledgement latency
 *   p50/p99, the difference from the standalone case (the stream hop's added
 *   latency), and the time from acknowledgement until the record arrives on
 *   the live tail of the nodes that store it (committed and searchable there);
 * - peak RSS (VmHWM) of every process.
 * A summary table follows. Absolute rates move with whatever else runs on the
 * machine; CPU per record much less.
 *
 *   node dist/bench/clusterIngest.js          # 50,000 records, 4 clients, 500 per request, 200 probes, every case
 *   RECORDS=20000 PROBES=50 CASES=standalone,'1 all, 3 nats R3' node dist/bench/clusterIngest.js
 */
import { loadavg } from 'node:os';
import { cpuMsOf } from '../test/support/processCpu.js';
import { caseSpecs, startCase, type BenchRole, type RunningCase } from './clusterCases.js';
import { commitTotals } from './commitTotals.js';
import { showCase, showSummary, type CaseFigures } from './clusterFigures.js';
import { benchTenant, lineOf, otlpBody, post, sendConcurrently } from './otlpLoad.js';
import { peakRssMiB } from './peakRss.js';
import { openTail } from './tailArrivals.js';

const totalRecords = Number(process.env.RECORDS ?? 50_000);
const batch = Number(process.env.BATCH ?? 500);
const clients = Number(process.env.CLIENTS ?? 4);
const probes = Number(process.env.PROBES ?? 200);
const warmupRecords = Number(process.env.WARMUP ?? Math.max(totalRecords / 10, batch * clients * 2));
const chosen = process.env.CASES?.split(',').map((name) => name.trim());

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

async function untilCommitted(running: RunningCase, sent: number): Promise<void> {
  while (!(await running.allCommitted(sent))) await sleep(100);
}

async function runCase(spec: (typeof caseSpecs)[number]): Promise<CaseFigures> {
  const running = await startCase(spec);
  try {
    const warmupRequests = Math.ceil(warmupRecords / batch);
    await sendConcurrently(running.entries, { requests: warmupRequests, batch, clients, seedBase: 1_000_000 });
    let sent = warmupRequests * batch;
    await untilCommitted(running, sent);

    const requests = Math.ceil(totalRecords / batch);
    const records = requests * batch;
    const commitsBefore = await Promise.all(running.stores.map(commitTotals));
    const cpuBefore = running.processes.map((p) => cpuMsOf(p.pid));
    const started = performance.now();
    await sendConcurrently(running.entries, { requests, batch, clients, seedBase: 2_000_000 });
    const acked = performance.now();
    sent += records;
    await untilCommitted(running, sent);
    const done = performance.now();
    const cpuAfter = running.processes.map((p) => cpuMsOf(p.pid));
    const commitsAfter = await Promise.all(running.stores.map(commitTotals));

    const cpuByProcess = new Map<string, { role: BenchRole; micros: number }>();
    const cpuByRole = new Map<BenchRole, number>();
    running.processes.forEach((p, i) => {
      const micros = ((cpuAfter[i] - cpuBefore[i]) * 1000) / records;
      cpuByProcess.set(p.name, { role: p.role, micros });
      cpuByRole.set(p.role, (cpuByRole.get(p.role) ?? 0) + micros);
    });

    const nameOf = (pid: number | undefined) => running.processes.find((p) => p.pid === pid)!.name;
    // The CPU an insert costs per record falls as commits grow, and commits grow with the rate: say how large they were.
    const recordsPerCommit = new Map(
      running.stores.map((store, i) => [
        nameOf(store.process.pid),
        (commitsAfter[i].records - commitsBefore[i].records) / (commitsAfter[i].commits - commitsBefore[i].commits),
      ]),
    );

    // Tails open only now: while someone tails, every committed record is offered to the tail's filter.
    const entry = running.entries[0];
    const others = running.stores.filter((store) => store !== entry);
    const watched = others.length > 0 ? others : running.stores;
    const tails = await Promise.all(watched.map((store) => openTail(store, benchTenant, '{service_name="probe"}')));
    const ackLatencies: number[] = [];
    const searchable: number[] = [];
    const visibleAfterAck = new Map(tails.map((tail) => [nameOf(tail.node.process.pid), [] as number[]]));
    try {
      for (let i = 0; i < probes; i++) {
        const body = otlpBody('probe', 3_000_000 + i, 1);
        const line = lineOf(3_000_000 + i, 0);
        const start = performance.now();
        await post(entry, body);
        const ackedAt = performance.now();
        ackLatencies.push(ackedAt - start);
        // One probe at a time: the next one goes once this one is on every watched tail.
        const deadline = ackedAt + 60_000;
        while (!tails.every((tail) => tail.arrivals.has(line))) {
          if (performance.now() > deadline) throw new Error(`probe ${i} acknowledged but not on every tail after 60 s`);
          await sleep(1);
        }
        for (const tail of tails) visibleAfterAck.get(nameOf(tail.node.process.pid))!.push(tail.arrivals.get(line)! - ackedAt);
        searchable.push(Math.max(...tails.map((tail) => tail.arrivals.get(line)!)) - start);
      }
    } finally {
      for (const tail of tails) tail.close();
    }
    return {
      name: running.name,
      ackedPerSecond: records / ((acked - started) / 1000),
      committedPerSecond: records / ((done - started) / 1000),
      cpuByProcess,
      cpuByRole,
      recordsPerCommit,
      ackLatencies,
      visibleAfterAck,
      searchable,
      peakRss: new Map(running.processes.map((p) => [p.name, peakRssMiB(p.pid)])),
    };
  } finally {
    await running.stop();
  }
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`RECORDS=${totalRecords} BATCH=${batch} CLIENTS=${clients} PROBES=${probes} WARMUP=${warmupRecords}; load average ${load()}`);
const results: CaseFigures[] = [];
for (const spec of caseSpecs.filter((spec) => !chosen || chosen.includes(spec.name))) {
  const figures = await runCase(spec);
  showCase(
    figures,
    results.find((r) => r.name === 'standalone'),
  );
  results.push(figures);
}
showSummary(results);
console.log(`load average at the end ${load()}`);
