/**
 * What the stream hop costs: OTLP/JSON ingest into one standalone meshlog
 * (acknowledged after its own commit) against two cluster nodes on a 3-server
 * NATS JetStream cluster (acknowledged after the R3 stream's PubAck; both
 * nodes then commit every record). Prints, per case, lines/s acknowledged,
 * lines/s committed on every node, and the acknowledgement latency of single
 * small requests (p50/p99), then the ratios cluster/standalone. Run the
 * cases back to back on the same load; read the ratios, not the absolutes.
 *
 *   node dist/bench/clusterIngest.js        # 100,000 records, 4 clients, 500 per request, 200 latency probes
 *   RECORDS=20000 PROBES=50 node dist/bench/clusterIngest.js
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../test/support/meshlogProcess.js';
import { startNatsCluster } from '../test/support/natsCluster.js';

const totalRecords = Number(process.env.RECORDS ?? 100_000);
const batch = Number(process.env.BATCH ?? 500);
const clients = Number(process.env.CLIENTS ?? 4);
const probes = Number(process.env.PROBES ?? 200);
const tenant = 'bench';

function otlpBody(seed: number, size: number): string {
  const start = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${seed % 6}` } }] },
        scopeLogs: [
          {
            logRecords: Array.from({ length: size }, (_, i) => ({
              timeUnixNano: String(start + BigInt(i)),
              severityNumber: 9,
              body: { stringValue: `request ${seed}-${i} GET /api/cart/${i % 97} 200 in ${i % 50} ms user=${seed % 1000}` },
              attributes: [{ key: 'log.record.uid', value: { stringValue: `${seed}-${i}` } }],
            })),
          },
        ],
      },
    ],
  });
}

async function post(node: RunningMeshlog, body: string): Promise<void> {
  const response = await fetch(`${node.url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json', 'x-scope-orgid': tenant },
    body,
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}`);
}

async function committed(node: RunningMeshlog): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.token}` } })).text();
  return [...text.matchAll(/^meshlog_records_committed_total\{receiver="otlp_http"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

interface Figures {
  ackedPerSecond: number;
  committedPerSecond: number;
  p50: number;
  p99: number;
}

/** Sends to `entry`; done once every node in `stores` committed every record. */
async function measure(entry: RunningMeshlog, stores: RunningMeshlog[], seedBase: number): Promise<Figures> {
  const before = await Promise.all(stores.map(committed));
  const requests = Math.ceil(totalRecords / batch);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < requests) await post(entry, otlpBody(seedBase + next++, batch));
    }),
  );
  const acked = performance.now();
  const target = requests * batch;
  for (const [i, node] of stores.entries())
    while ((await committed(node)) - before[i] < target) await new Promise((resolve) => setTimeout(resolve, 20));
  const done = performance.now();
  const latencies: number[] = [];
  for (let i = 0; i < probes; i++) {
    const t = performance.now();
    await post(entry, otlpBody(seedBase + requests + i, 1));
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  return {
    ackedPerSecond: target / ((acked - started) / 1000),
    committedPerSecond: target / ((done - started) / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

const show = (name: string, f: Figures) =>
  console.log(
    `${name.padEnd(28)} acked ${Math.round(f.ackedPerSecond)} lines/s, committed on every node ${Math.round(f.committedPerSecond)} lines/s, ack p50 ${f.p50.toFixed(1)} ms p99 ${f.p99.toFixed(1)} ms`,
  );

const nats = await startNatsCluster(3);
const configFile = (id: string) => {
  const file = join(tempDataDir('meshlog-bench-config-'), 'meshlog.yaml');
  writeFileSync(file, `cluster:\n  enabled: true\n  node_id: ${id}\n  nats:\n    servers: [${nats.urls.join(', ')}]\n`);
  return file;
};
const standalone = await startMeshlog();
const a = await startMeshlog({ args: ['--config', configFile('a')] });
const b = await startMeshlog({ args: ['--config', configFile('b')] });
try {
  // Warm-up of both paths, then A, B, A order: drift on a shared machine falls on both.
  await measure(standalone, [standalone], 1_000_000);
  await measure(a, [a, b], 2_000_000);
  const direct1 = await measure(standalone, [standalone], 3_000_000);
  const viaStream = await measure(a, [a, b], 4_000_000);
  const direct2 = await measure(standalone, [standalone], 5_000_000);
  const direct: Figures = {
    ackedPerSecond: (direct1.ackedPerSecond + direct2.ackedPerSecond) / 2,
    committedPerSecond: (direct1.committedPerSecond + direct2.committedPerSecond) / 2,
    p50: (direct1.p50 + direct2.p50) / 2,
    p99: (direct1.p99 + direct2.p99) / 2,
  };
  show('standalone (mean of 2)', direct);
  show('cluster, 2 nodes, R3', viaStream);
  console.log(
    `ratios cluster/standalone: acked lines/s ${(viaStream.ackedPerSecond / direct.ackedPerSecond).toFixed(2)}, committed lines/s ${(viaStream.committedPerSecond / direct.committedPerSecond).toFixed(2)}, ack p50 ${(viaStream.p50 / direct.p50).toFixed(2)}, ack p99 ${(viaStream.p99 / direct.p99).toFixed(2)}`,
  );
  const observer = await connect({ servers: nats.urls });
  const manager = await jetstreamManager(observer);
  const info = await manager.streams.info('MESHLOG_RECORDS');
  console.log(
    `stream: ${info.state.messages} messages, ${Math.round(info.state.bytes / 1024 / 1024)} MiB, replicas ${info.config.num_replicas}`,
  );
  await observer.close();
} finally {
  await Promise.all([standalone.stop(), a.stop(), b.stop()]);
  await nats.stop();
}
