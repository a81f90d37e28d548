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
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { decodeOtlpLogsProtobuf } from '../src/ingest/sources/otlp/otlpLogs.js';
import { loadProtos } from '../src/formats/protoRoot.js';
import { closeLogRow, openLogRow } from '../src/storage/logs/logRows.js';
import { Storage } from '../src/storage/engine/storage.js';
import { startMeshlog, tempDataDir } from '../test/support/meshlogProcess.js';

const totalRecords = Number(process.env.RECORDS ?? 2_000_000);
const batch = Number(process.env.BATCH ?? 1000);
const clients = Number(process.env.CLIENTS ?? 8);
const insertBatch = Number(process.env.INSERT_BATCH ?? 100_000);
const rounds = Number(process.env.ROUNDS ?? 1);

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
  dataDir: string;
}

async function endToEnd(bodies: Uint8Array[], seal: boolean): Promise<EndToEnd> {
  const meshlog = await startMeshlog({ env: { MESHLOG_INTEGRITY_SEAL: String(seal) } });
  const requests = Math.ceil(totalRecords / batch);
  const latencies: number[] = [];
  let next = 0;
  let bytes = 0;
  let refused = 0;
  const cpuAtStart = cpuSeconds(meshlog.process.pid!);
  const started = performance.now();
  let lastReport = started;
  const client = async () => {
    while (next < requests) {
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
  await meshlog.stop();
  if (refused > 0) process.stderr.write(`  (${refused} requests answered 429/503 and were retried)\n`);
  latencies.sort((a, b) => a - b);
  return {
    recordsPerSecond: (requests * batch) / seconds,
    mbPerSecond: bytes / 1e6 / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    peakRss,
    cpuMicros,
    dataDir: meshlog.dataDir,
  };
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
async function rawInsertCeiling(bodies: Uint8Array[]): Promise<{ recordsPerSecond: number; cpuMicros: number }> {
  const dataDir = tempDataDir('meshlog-bench-ceiling-');
  const storage = await Storage.open({ dataDir, database: 'meshlog' }, pino({ level: 'warn' }));
  const requests = Math.ceil(totalRecords / batch);
  const perInsert = Math.max(1, Math.floor(insertBatch / batch));
  const decoded = bodies.map((body) => decodeOtlpLogsProtobuf(body, 'default', 'otlp_http').records.map(openLogRow));
  let elapsed = 0;
  let cpu = 0;
  let seq = 0;
  for (let done = 0; done < requests; done += perInsert) {
    let pos = 0;
    seq++;
    const lines: string[] = [];
    for (let r = done; r < Math.min(requests, done + perInsert); r++) {
      for (const row of decoded[r % decoded.length])
        lines.push(closeLogRow(row, { chainId: 'default/ceiling', batchSeq: seq, batchPos: pos++ }));
    }
    const body = lines.join('');
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await storage.insertLogRows(body);
    const used = process.cpuUsage(cpuBefore);
    elapsed += performance.now() - started;
    cpu += used.user + used.system;
  }
  await storage.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { recordsPerSecond: (requests * batch) / (elapsed / 1000), cpuMicros: cpu / (requests * batch) };
}

const bodies = Array.from({ length: 64 }, (_, seed) => requestBody(seed));
const averageBody = bodies.reduce((sum, body) => sum + body.length, 0) / bodies.length;
console.log(
  `otlp ingest bench: ${totalRecords} records, ${clients} clients, ${batch} records per request (${(averageBody / 1024).toFixed(0)} KiB protobuf)`,
);
const line = (name: string, run: EndToEnd) =>
  console.log(
    `${name.padEnd(22)}${Math.round(run.recordsPerSecond).toLocaleString('en')} records/s  ${run.mbPerSecond.toFixed(1)} MB/s  ` +
      `p50 ${run.p50.toFixed(1)} ms  p99 ${run.p99.toFixed(1)} ms  peak RSS ${run.peakRss.toFixed(0)} MiB  server CPU ${run.cpuMicros.toFixed(1)} µs/record`,
  );
/** Both cases `rounds` times, in alternating order, so a load that drifts during the run weighs on both alike. */
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
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
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
const ceiling = await rawInsertCeiling(bodies);
console.log(
  `${'raw chDB insert'.padEnd(22)}${Math.round(ceiling.recordsPerSecond).toLocaleString('en')} records/s (same rows, ${insertBatch.toLocaleString('en')} per insert)  CPU ${ceiling.cpuMicros.toFixed(1)} µs/record`,
);
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
