import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { clusterSection, type ClusterConfig } from '../../src/cluster/clusterConfig.js';
import { CommittedRecords } from '../../src/cluster/committedRecords.js';
import { ensureRecordStream, recordPublisher } from '../../src/cluster/recordStream.js';
import { StreamConsumer } from '../../src/cluster/streamConsumer.js';
import { MeshlogError } from '../../src/errors.js';
import type { SpanRecord } from '../../src/model/spanRecord.js';
import { Storage } from '../../src/storage/engine/storage.js';
import { StreamPositionStore } from '../../src/storage/logs/streamPositionStore.js';
import { startNatsCluster, type NatsCluster } from '../support/natsCluster.js';
import { selectQueries } from '../support/selectQueries.js';
import { testTempDir } from '../support/testTempDir.js';
import { waitFor } from '../support/waitFor.js';

// A node's consumer of the record stream on a real nats-server and a real embedded ClickHouse.
const logger = pino({ level: 'silent' });
let nats: NatsCluster;
let connection: NatsConnection;
let storage: Storage;
let config: ClusterConfig;

before(async () => {
  nats = await startNatsCluster(1);
  connection = await connect({ servers: nats.urls });
  config = clusterSection.parse({ enabled: true, nats: { servers: nats.urls }, stream: { replicas: 1 } });
  await ensureRecordStream(connection, config, logger);
  storage = await Storage.open(
    { dataDir: testTempDir('meshlog-stream-consumer-'), database: 'meshlog', encryption: { enabled: false } },
    logger,
  );
});

after(async () => {
  await connection?.close();
  await storage?.close();
  await nats?.stop();
});

const span: SpanRecord = {
  tenant: 'acme',
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId: 'eee19b7ec3c1b174',
  parentSpanId: '',
  traceState: '',
  name: 'POST /pay',
  kind: 'SERVER',
  startTimeUnixNano: 1_767_323_045_123_456_789n,
  durationNano: 250_000_001n,
  serviceName: 'checkout',
  resource: {},
  scopeName: '',
  scopeVersion: '',
  attributes: {},
  statusCode: 'OK',
  statusMessage: '',
  events: [],
  receiver: 'otlp_http',
};

test('a span message given again runs no lookup of log records’ stream positions (its rows are spans)', async () => {
  const reading = -(await selectQueries(storage)) + (await selectQueries(storage));
  let deliveries = 0;
  let selectsAfterFirst = 0;
  let lookupsBeforeRedelivery: number | undefined;
  const consumer = await StreamConsumer.start(
    connection,
    config,
    'spans',
    async () => undefined,
    logger,
    await CommittedRecords.open(new StreamPositionStore(storage)),
    undefined,
    undefined,
    async (spans) => {
      deliveries++;
      assert.deepEqual(
        spans.map((given) => given.spanId),
        [span.spanId],
      );
      if (deliveries === 1) {
        selectsAfterFirst = await selectQueries(storage);
        // Storage unavailable for a moment: the message is given again.
        throw new MeshlogError('ML_UNAVAILABLE', 'storage unavailable for a moment');
      }
      lookupsBeforeRedelivery = (await selectQueries(storage)) - selectsAfterFirst - reading;
    },
  );
  try {
    await recordPublisher(connection, config).publishSpans([span]);
    await waitFor(() => lookupsBeforeRedelivery !== undefined, { what: 'the span message given again' });
    assert.equal(deliveries, 2);
    assert.equal(lookupsBeforeRedelivery, 0, 'no query between the failed delivery and the next one');
  } finally {
    await consumer.stop();
  }
});
