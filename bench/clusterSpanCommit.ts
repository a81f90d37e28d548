/**
 * What storing the replicated spans costs a node, and how many lookups it
 * runs: MESSAGES span messages (SPANS spans each, one OTLP request of a
 * service's traces) are published to a lone nats-server's record stream,
 * then one node's consumer (the real StreamConsumer and span committer over
 * embedded chDB, in this process) stores them as a node catching up does,
 * up to a fetch of messages at a time. Then the same again through a
 * consumer created anew (a replay: every span is found stored). Each case
 * prints the CPU of this process (chDB runs inside it) in µs per span, the
 * wall time, and the SELECT queries ClickHouse ran per message
 * (system.events): the per-message lookups a fetch shares or not.
 *
 *   node dist/bench/clusterSpanCommit.js                 # 2,000 messages of 10 spans
 *   MESSAGES=500 SPANS=50 node dist/bench/clusterSpanCommit.js
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { clusterSection } from '../src/cluster/clusterConfig.js';
import { CommittedRecords } from '../src/cluster/committedRecords.js';
import { ensureRecordStream, recordPublisher } from '../src/cluster/recordStream.js';
import { spanCommitter } from '../src/cluster/spanCommit.js';
import { StreamConsumer } from '../src/cluster/streamConsumer.js';
import type { SpanRecord } from '../src/model/spanRecord.js';
import { Storage } from '../src/storage/engine/storage.js';
import { StreamPositionStore } from '../src/storage/logs/streamPositionStore.js';
import { tempDataDir } from '../test/support/meshlogProcess.js';
import { startNatsCluster } from '../test/support/natsCluster.js';

const messages = Number(process.env.MESSAGES ?? 2_000);
const spansPerMessage = Number(process.env.SPANS ?? 10);
const logger = pino({ level: 'warn' });
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function spansOfOneRequest(): SpanRecord[] {
  const traceId = hex(16);
  const start = BigInt(Date.now()) * 1_000_000n;
  return Array.from({ length: spansPerMessage }, (_, i) => ({
    tenant: 'bench',
    traceId,
    spanId: hex(8),
    parentSpanId: i === 0 ? '' : hex(8),
    traceState: '',
    name: `GET /api/item/${i}`,
    kind: 'SERVER',
    startTimeUnixNano: start + BigInt(i) * 1_000_000n,
    durationNano: 2_500_000n,
    serviceName: `svc-${i % 5}`,
    resource: { 'service.name': `svc-${i % 5}`, 'k8s.namespace.name': 'shop' },
    scopeName: 'bench',
    scopeVersion: '1',
    attributes: { 'http.method': 'GET', 'http.status_code': '200' },
    statusCode: 'OK',
    statusMessage: '',
    events: [],
    receiver: 'otlp_http',
  }));
}

async function selectQueries(storage: Storage): Promise<number> {
  const rows = await storage.rows<{ value: string }>(`SELECT toString(value) AS value FROM system.events WHERE event = 'SelectQuery'`);
  return Number(rows[0]?.value ?? 0);
}

async function main(): Promise<void> {
  const nats = await startNatsCluster(1);
  const connection = await connect({ servers: nats.urls });
  const config = clusterSection.parse({ enabled: true, nats: { servers: nats.urls }, stream: { replicas: 1 } });
  const storage = await Storage.open({ dataDir: tempDataDir('meshlog-bench-spans-'), database: 'meshlog' }, logger);
  try {
    await ensureRecordStream(connection, config, logger);
    const publisher = recordPublisher(connection, config);
    for (let sent = 0; sent < messages; sent += 100)
      await Promise.all(Array.from({ length: Math.min(100, messages - sent) }, () => publisher.publishSpans(spansOfOneRequest())));
    const manager = await jetstreamManager(connection);
    const spans = messages * spansPerMessage;
    console.log(`# ${messages} span messages of ${spansPerMessage} spans, load ${loadavg()[0].toFixed(1)}`);

    for (const run of ['first delivery', 'replay (consumer created again)']) {
      const committed = await CommittedRecords.open(new StreamPositionStore(storage));
      const selectsBefore = await selectQueries(storage);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const consumer = await StreamConsumer.start(
        connection,
        config,
        'bench',
        async () => undefined,
        logger,
        committed,
        undefined,
        undefined,
        spanCommitter(storage, async (fresh) => fresh, logger),
      );
      for (;;) {
        const info = await manager.consumers.info(config.stream.name, consumer.durable);
        if (info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= messages) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const selects = (await selectQueries(storage)) - selectsBefore - 1;
      await consumer.stop();
      await manager.consumers.delete(config.stream.name, consumer.durable);
      const stored = await storage.rows<{ n: string }>(`SELECT toString(count()) AS n FROM meshlog.spans`);
      console.log(
        `${run}: ${(((cpu.user + cpu.system) / spans) as number).toFixed(1)} µs CPU per span, ` +
          `${wallMs.toFixed(0)} ms wall, ${(selects / messages).toFixed(3)} SELECT per message (${selects}), ${stored[0].n} spans stored`,
      );
    }
  } finally {
    await connection.close();
    await storage.close();
    await nats.stop();
  }
}

await main();
