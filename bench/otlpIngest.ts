/**
 * End-to-end OTLP/HTTP ingest against the raw-insert ceiling.
 *
 * Starts the real server, sends RECORDS OTLP/protobuf records in requests of
 * BATCH records from CLIENTS concurrent clients (each request acknowledged only
 * once committed), then inserts the same rows straight into embedded chDB in
 * this process as the ceiling. Prints one line per case and the ratio.
 *
 *   npm run bench                       # 2,000,000 records, 8 clients, 1,000 per request
 *   RECORDS=500000 CLIENTS=4 npm run bench
 *   INSERT_BATCH=8000 npm run bench      # the ceiling at the commit size 8 clients × 1,000 records produce
 *   ROUNDS=3 npm run bench               # sealed and unsealed alternated 3 times (ABA…, BAB…), medians: less drift on a shared machine
 *   BASELINE=main ROUNDS=2 npm run bench  # sealed, this tree against git revision main (built to a temp dir), alternated; prints ratios
 *   RATE=10 CLIENTS=2 BATCH=100 RECORDS=20000 npm run bench  # low load: each client sends RATE requests a second at most (acknowledgement latency)
 *   CPU_PROF=/tmp/prof npm run bench     # this tree's server writes a V8 CPU profile of its main thread per run there (node --cpu-prof)
 *
 * Also prints the server CPU per record by thread kind, the data dir growth per
 * record after a clean stop, and the logs table's bytes per row once merged.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { decodeOtlpLogsProtobuf } from '../src/ingest/sources/otlp/otlpLogs.js';
import { loadProtos } from '../src/formats/protoRoot.js';
import { closeCompactLogRow, openCompactLogRow } from '../src/storage/logs/compactLogRow.js';
import { Storage } from '../src/storage/engine/storage.js';
import { startMeshlog, tempDataDir } from '../test/support/meshlogProcess.js';
import { buildBaseline } from './baselineBuild.js';

const totalRecords = Number(process.env.RECORDS ?? 2_000_000);
const batch = Number(process.env.BATCH ?? 1000);
const clients = Number(process.env.CLIENTS ?? 8);
const insertBatch = Number(process.env.INSERT_BATCH ?? 100_000);
const rounds = Number(process.env.ROUNDS ?? 1);
const baselineRev = process.env.BASELINE;
/** Requests a second per client at most (paced): low load, for acknowledgement latency; unpaced when absent. */
const rate = process.env.RATE ? Number(process.env.RATE) : undefined;
/** Where this tree's server writes its main thread's CPU profile (open in Chrome DevTools or speedscope); none when absent. */
const cpuProfileDir = process.env.CPU_PROF;

const ExportLogsServiceRequest = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']).lookupType(
  'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
);

const services = ['checkout', 'cart', 'payments', 'search', 'frontend', 'inventory'];
const levels: [number, string][] = [
  [9, 'INFO'],
  [9, 'INFO'],
  [9, 'INFO'],
  [13, 'WARN'],
  [17, 'ERROR'],
  [5, 'DEBUG'],
];

/** A realistic request: one service's resource, records with attributes, trace ids on most. */
function requestBody(seed: number): Uint8Array {
  const service = services[seed % services.length];
  const start = BigInt(Date.now()) * 1_000_000n;
  const logRecords = Array.from({ length: batch }, (_, i) => {
    const [severityNumber, severityText] = levels[(seed + i) % levels.length];
    const id = seed * batch + i;
    return {
      timeUnixNano: (start + BigInt(i) * 1000n).toString(),
      observedTimeUnixNano: (start + BigInt(i) * 1000n + 500n).toString(),
      severityNumber,
      severityText,
      body: {
        stringValue: `order ${id} processed for customer ${id % 9973} in ${(id % 250) + 3}ms via ${service}-v2 (cache ${id % 3 ? 'hit' : 'miss'})`,
      },
      attributes: [
        { key: 'http.route', value: { stringValue: `/api/${service}/${id % 40}` } },
        { key: 'http.status_code', value: { intValue: String(200 + (id % 5 === 0 ? 300 : 0)) } },
        { key: 'thread', value: { stringValue: `worker-${id % 16}` } },
      ],
      traceId: Buffer.from((id.toString(16).padStart(16, '0') + 'a1b2c3d4e5f60718').slice(0, 32), 'hex'),
      spanId: Buffer.from(id.toString(16).padStart(16, '0').slice(0, 16), 'hex'),
      flags: 1,
    };
  });
  const message = ExportLogsServiceRequest.fromObject({
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: service } },
            { key: 'k8s.namespace.name', value: { stringValue: 'shop' } },
            { key: 'k8s.pod.name', value: { stringValue: `${service}-7d9f8c-${seed % 7}` } },
            { key: 'cloud.region', value: { stringValue: 'eu-west-1' } },
          ],
        },
        scopeLogs: [{ scope: { name: `${service}.logger`, version: '2.1.0' }, logRecords }],
      },
    ],
  });
  return ExportLogsServiceRequest.encode(message).finish();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU seconds a process has used (all its threads: the engine's too), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds per thread kind (thread names without their numbers: node, libuv-worker, MergeMutate…), from /proc. */
function threadCpuSeconds(pid: number): Map<string, number> {
  const byKind = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const kind = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[-_ ]?\d+$/, '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    byKind.set(kind, (byKind.get(kind) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return byKind;
}

/** The thread kinds' share of `micros` per record, largest first (threads that ended before the end are in no kind). */
function threadSplit(before: Map<string, number>, after: Map<string, number>, records: number): string {
  return [...after]
    .map(([kind, seconds]) => [kind, ((seconds - (before.get(kind) ?? 0)) * 1e6) / records] as const)
    .filter(([, micros]) => micros >= 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, micros]) => `${kind} ${micros.toFixed(1)}`)
    .join(', ');
}

/** Bytes under a directory, as `du` counts them. */
function diskBytes(dir: string): number {
  return Number(spawnSync('du', ['-sb', dir], { encoding: 'utf8' }).stdout.split('\t')[0]);
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

interface EndToEnd {
  recordsPerSecond: number;
  mbPerSecond: number;
  p50: number;
  p99: number;
  peakRss: number;
  /** Server CPU per record: unlike records/s, barely moved by other work on a shared machine. */
  cpuMicros: number;
  /** Server CPU per record by thread kind (µs). */
  threads: string;
  /** Mean records per storage insert (group commit), from the server's metrics. */
  recordsPerCommit: number;
  /** Data dir growth per record after a clean stop (superseded parts not yet removed are in it, as a user sees). */
  diskBytesPerRecord: number;
  dataDir: string;
}

const emptyDataDirBytes = new Map<string | undefined, number>();
/** What a data dir of `cli`'s server that took no records weighs after a clean stop: subtracted from every run's. */
async function emptyDataDir(cli: string | undefined): Promise<number> {
  if (!emptyDataDirBytes.has(cli)) {
    const meshlog = await startMeshlog({ cli });
    await meshlog.stop();
    emptyDataDirBytes.set(cli, diskBytes(meshlog.dataDir));
    rmSync(meshlog.dataDir, { recursive: true, force: true });
  }
  return emptyDataDirBytes.get(cli)!;
}

/** `cli`: another build's server (BASELINE); this tree's by default. */
async function endToEnd(bodies: Uint8Array[], seal: boolean, cli?: string): Promise<EndToEnd> {
  const nodeArgs = cpuProfileDir && !cli ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const meshlog = await startMeshlog({ cli, nodeArgs, env: { MESHLOG_INTEGRITY_SEAL: String(seal) } });
  const requests = Math.ceil(totalRecords / batch);
  const latencies: number[] = [];
  let next = 0;
  let bytes = 0;
  let refused = 0;
  const cpuAtStart = cpuSeconds(meshlog.process.pid!);
  const threadsAtStart = threadCpuSeconds(meshlog.process.pid!);
  const started = performance.now();
  let lastReport = started;
  const client = async () => {
    let slot = performance.now();
    while (next < requests) {
      if (rate) {
        slot += 1000 / rate;
        const wait = slot - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const index = next++;
      const body = bodies[index % bodies.length];
      for (;;) {
        const sent = performance.now();
        const response = await fetch(`${meshlog.url}/v1/logs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/x-protobuf' },
          body: body as BodyInit,
        });
        await response.arrayBuffer();
        if (response.status === 200) {
          latencies.push(performance.now() - sent);
          bytes += body.length;
          break;
        }
        if (response.status !== 429 && response.status !== 503) throw new Error(`unexpected ${response.status}`);
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const now = performance.now();
      if (now - lastReport > 5000) {
        lastReport = now;
        process.stderr.write(`  … ${latencies.length * batch} records acknowledged\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  const peakRss = peakRssMiB(meshlog.process.pid!);
  const cpuMicros = ((cpuSeconds(meshlog.process.pid!) - cpuAtStart) * 1e6) / (requests * batch);
  const threads = threadSplit(threadsAtStart, threadCpuSeconds(meshlog.process.pid!), requests * batch);
  const recordsPerCommit = await meanCommitSize(meshlog.url, meshlog.token);
  await meshlog.stop();
  const diskBytesPerRecord = (diskBytes(meshlog.dataDir) - (await emptyDataDir(cli))) / (requests * batch);
  if (refused > 0) process.stderr.write(`  (${refused} requests answered 429/503 and were retried)\n`);
  latencies.sort((a, b) => a - b);
  return {
    recordsPerSecond: (requests * batch) / seconds,
    mbPerSecond: bytes / 1e6 / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    peakRss,
    cpuMicros,
    threads,
    recordsPerCommit,
    diskBytesPerRecord,
    dataDir: meshlog.dataDir,
  };
}

/** Records per group commit over the server's life (meshlog_batch_records), as its /metrics says. */
async function meanCommitSize(url: string, token: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return value('meshlog_batch_records_sum') / value('meshlog_batch_records_count');
}

/** `meshlog verify` over the sealed store, offline: records re-read and re-hashed per second. */
function verifySpeed(dataDir: string): { recordsPerSecond: number; ok: boolean } {
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir, '--output', 'json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (run.status === 2) throw new Error(run.stderr);
  const report = JSON.parse(run.stdout) as { records: number; elapsedMs: number; findings: unknown[] };
  return { recordsPerSecond: report.records / (report.elapsedMs / 1000), ok: report.findings.length === 0 };
}

/** The same rows, serialized as the writer does, inserted straight into chDB: what storage alone can take. */
async function rawInsertCeiling(bodies: Uint8Array[]): Promise<{ recordsPerSecond: number; cpuMicros: number; stored: string }> {
  const dataDir = tempDataDir('meshlog-bench-ceiling-');
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, pino({ level: 'warn' }));
  const requests = Math.ceil(totalRecords / batch);
  const perInsert = Math.max(1, Math.floor(insertBatch / batch));
  const decoded = bodies.map((body) =>
    decodeOtlpLogsProtobuf(body, 'default', 'otlp_http').records.map((record) => openCompactLogRow(record)),
  );
  let elapsed = 0;
  let cpu = 0;
  let seq = 0;
  for (let done = 0; done < requests; done += perInsert) {
    let pos = 0;
    seq++;
    const lines: string[] = [];
    for (let r = done; r < Math.min(requests, done + perInsert); r++) {
      for (const row of decoded[r % decoded.length])
        lines.push(closeCompactLogRow(row, { chainId: 'default/ceiling', batchSeq: seq, batchPos: pos++ }));
    }
    const body = lines.join('');
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await storage.insertLogRows(body);
    const used = process.cpuUsage(cpuBefore);
    elapsed += performance.now() - started;
    cpu += used.user + used.system;
  }
  const stored = await storedBytesPerRow(storage);
  await storage.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { recordsPerSecond: (requests * batch) / (elapsed / 1000), cpuMicros: cpu / (requests * batch), stored };
}

/** The logs table's bytes per row once merged into one part per partition: columns, skip indexes, projections. */
async function storedBytesPerRow(storage: Storage): Promise<string> {
  await storage.client.command({ query: 'OPTIMIZE TABLE meshlog.logs FINAL' });
  const [part] = await storage.rows<{ rows: string; data: string; indexes: string; total: string }>(
    `SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS data, sum(secondary_indices_compressed_bytes) AS indexes,
       sum(bytes_on_disk) AS total FROM system.parts WHERE database = 'meshlog' AND table = 'logs' AND active`,
  );
  const columns = await storage.rows<{ column: string; bytes: string }>(
    `SELECT column, sum(column_data_compressed_bytes) AS bytes FROM system.parts_columns
     WHERE database = 'meshlog' AND table = 'logs' AND active GROUP BY column ORDER BY bytes DESC LIMIT 5`,
  );
  const rows = Number(part.rows);
  const perRow = (bytes: string | number) => (Number(bytes) / rows).toFixed(1);
  return (
    `${perRow(part.total)} B/row on disk: columns ${perRow(part.data)} (${columns.map((c) => `${c.column} ${perRow(c.bytes)}`).join(', ')}), ` +
    `skip indexes ${perRow(part.indexes)}, rest (projections, marks) ${perRow(Number(part.total) - Number(part.data) - Number(part.indexes))}`
  );
}

const bodies = Array.from({ length: 64 }, (_, seed) => requestBody(seed));
const averageBody = bodies.reduce((sum, body) => sum + body.length, 0) / bodies.length;
console.log(
  `otlp ingest bench: ${totalRecords} records, ${clients} clients, ${batch} records per request (${(averageBody / 1024).toFixed(0)} KiB protobuf)`,
);
const line = (name: string, run: EndToEnd) =>
  console.log(
    `${`${name} `.padEnd(22)}${Math.round(run.recordsPerSecond).toLocaleString('en')} records/s  ${run.mbPerSecond.toFixed(1)} MB/s  ` +
      `p50 ${run.p50.toFixed(1)} ms  p99 ${run.p99.toFixed(1)} ms  peak RSS ${run.peakRss.toFixed(0)} MiB  server CPU ${run.cpuMicros.toFixed(1)} µs/record\n` +
      `${''.padEnd(22)}by thread (µs/record): ${run.threads}\n` +
      `${''.padEnd(22)}${Math.round(run.recordsPerCommit).toLocaleString('en')} records per commit\n` +
      `${''.padEnd(22)}data dir ${run.diskBytesPerRecord.toFixed(0)} B/record after a clean stop`,
  );
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** Sealed ingest of this tree (medians), against the raw-insert ceiling below. */
const sealed = baselineRev ? await compareWithBaseline(baselineRev) : await sealingCost();

/** Sealed and unsealed `rounds` times, in alternating order, so a load that drifts during the run weighs on both alike. */
async function sealingCost(): Promise<{ recordsPerSecond: number; cpuMicros: number }> {
  const runs: Record<'sealed' | 'unsealed', EndToEnd[]> = { sealed: [], unsealed: [] };
  for (let round = 0; round < rounds; round++) {
    for (const seal of round % 2 === 0 ? [true, false] : [false, true]) {
      const run = await endToEnd(bodies, seal);
      line(`OTLP/HTTP, ${seal ? 'sealed' : 'unsealed'}`, run);
      if (seal && round === 0) {
        const verified = verifySpeed(run.dataDir);
        console.log(
          `${'meshlog verify'.padEnd(22)}${Math.round(verified.recordsPerSecond).toLocaleString('en')} records/s re-read and re-hashed (${verified.ok ? 'clean' : 'FINDINGS'})`,
        );
      }
      rmSync(run.dataDir, { recursive: true, force: true });
      runs[seal ? 'sealed' : 'unsealed'].push(run);
    }
  }
  const sealed = {
    recordsPerSecond: median(runs.sealed.map((run) => run.recordsPerSecond)),
    cpuMicros: median(runs.sealed.map((run) => run.cpuMicros)),
  };
  const unsealed = {
    recordsPerSecond: median(runs.unsealed.map((run) => run.recordsPerSecond)),
    cpuMicros: median(runs.unsealed.map((run) => run.cpuMicros)),
  };
  console.log(
    `${'sealing cost'.padEnd(22)}${((1 - sealed.recordsPerSecond / unsealed.recordsPerSecond) * 100).toFixed(1)}% of unsealed throughput, ` +
      `${((sealed.cpuMicros / unsealed.cpuMicros - 1) * 100).toFixed(1)}% more server CPU per record (steadier on a shared machine)` +
      (rounds > 1 ? ` — medians of ${rounds} rounds` : ''),
  );
  return sealed;
}

/**
 * Sealed ingest of this tree and of git revision `rev`, `rounds` times in
 * alternating order (AB, BA, …): the ratios are what a change is judged by on
 * a shared machine, where absolute rates move with the load.
 */
async function compareWithBaseline(rev: string): Promise<{ recordsPerSecond: number; cpuMicros: number }> {
  const baseline = buildBaseline(rev);
  const label = { baseline: `sealed, ${rev} (${baseline.commit.slice(0, 8)})`, current: 'sealed, this tree' };
  const runs: Record<'baseline' | 'current', EndToEnd[]> = { baseline: [], current: [] };
  for (let round = 0; round < rounds; round++) {
    for (const which of round % 2 === 0 ? (['baseline', 'current'] as const) : (['current', 'baseline'] as const)) {
      const run = await endToEnd(bodies, true, which === 'baseline' ? baseline.cli : undefined);
      line(label[which], run);
      rmSync(run.dataDir, { recursive: true, force: true });
      runs[which].push(run);
    }
  }
  rmSync(baseline.dir, { recursive: true, force: true });
  const ratio = (of: (run: EndToEnd) => number) => (median(runs.current.map(of)) / median(runs.baseline.map(of))).toFixed(2);
  console.log(
    `${'this tree ÷ baseline'.padEnd(22)}records/s ${ratio((run) => run.recordsPerSecond)}×  server CPU/record ${ratio((run) => run.cpuMicros)}×  ` +
      `p50 ${ratio((run) => run.p50)}×  p99 ${ratio((run) => run.p99)}×  records/commit ${ratio((run) => run.recordsPerCommit)}×  data dir/record ${ratio((run) => run.diskBytesPerRecord)}×` +
      (rounds > 1 ? ` — medians of ${rounds} rounds` : ''),
  );
  return {
    recordsPerSecond: median(runs.current.map((run) => run.recordsPerSecond)),
    cpuMicros: median(runs.current.map((run) => run.cpuMicros)),
  };
}

const ceiling = await rawInsertCeiling(bodies);
console.log(
  `${'raw chDB insert'.padEnd(22)}${Math.round(ceiling.recordsPerSecond).toLocaleString('en')} records/s (same rows, ${insertBatch.toLocaleString('en')} per insert)  CPU ${ceiling.cpuMicros.toFixed(1)} µs/record`,
);
console.log(`${'logs table, merged'.padEnd(22)}${ceiling.stored}`);
console.log(
  `${'ratio'.padEnd(22)}${(sealed.recordsPerSecond / ceiling.recordsPerSecond).toFixed(2)} of the raw-insert ceiling (sealed end to end); ` +
    `CPU per record ${(sealed.cpuMicros / ceiling.cpuMicros).toFixed(1)}× the insert's`,
);
// What this machine could take if every core did nothing but the engine's own insert work.
const cores = availableParallelism();
console.log(
  `${'storage-bound limit'.padEnd(22)}${Math.round((cores * 1e6) / ceiling.cpuMicros).toLocaleString('en')} records/s ` +
    `(${cores} cores ÷ ${ceiling.cpuMicros.toFixed(1)} µs of insert CPU per record, before any HTTP, decoding or pipeline work)`,
);
