import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Storage } from '../storage/engine/storage.js';
import { StreamPositionStore } from '../storage/logs/streamPositionStore.js';
import type { ClusterConfig } from './clusterConfig.js';
import { ClusterHealth } from './clusterHealth.js';
import { ClusterSecrets } from './clusterSecrets.js';
import { consumesStream } from './clusterRole.js';
import { CommittedRecords } from './committedRecords.js';
import { Leases } from './leases.js';
import { connectNats } from './natsConnection.js';
import { NodeRegistry } from './nodeRegistry.js';
import { ensureRecordStream, recordPublisher, streamLastSequence } from './recordStream.js';
import { replicateState, type ReplicatedOwners } from './replicatedKinds.js';
import { replicatedArchiveKeys } from './replicatedArchiveKeys.js';
import { replicatedLedger, replicatedLedgers } from './replicatedLedger.js';
import { spanCommitter, type DropErasedSpans } from './spanCommit.js';
import { StreamConsumer, type CommitRecords, type DropErased } from './streamConsumer.js';
import { StreamMetrics } from './streamMetrics.js';

/**
 * Several nodes on NATS JetStream (the `cluster` section), in the order the
 * server needs them: joined first (its membership counted, `nodes`), since
 * its leases decide who migrates a shared ClickHouse (`leases`); once the
 * writer exists, the replicated record stream the receivers publish records
 * and spans to (`openRecordStream`); once every owner of replicated state
 * exists, the key-value buckets (`replicate`) and the agreed secrets
 * (`secrets`); and last of all this node's consumer of the stream
 * (`startConsuming`). Undefined for a
 * node of its own (`cluster.enabled: false`).
 */
export async function clusterSubsystem(config: ClusterConfig, nodeId: string, logger: Logger) {
  if (!config.enabled) return undefined;
  const nats = await connectNats(config, nodeId, logger);
  const leases = await Leases.open(nats, config, nodeId, logger);
  const nodes = await NodeRegistry.open(nats, config, nodeId, logger);
  let health: ClusterHealth | undefined;
  let consumer: StreamConsumer | undefined;
  let startConsuming = async () => undefined as void;
  return {
    leases,
    /** The live nodes of the cluster by the traffic they take: each node's share of the rate limits (`limits.strategy: global`). */
    nodes,
    /**
     * Receivers publish to the replicated stream; this node's writer, like
     * every node's, commits the whole stream (through `commit`). Returns the
     * publisher and the subsystem's stop, which the server places after the
     * writer's: messages being committed finish (and are acknowledged)
     * before the writer closes; leases go back before NATS does.
     */
    async openRecordStream(deps: {
      storage: Storage;
      commit: CommitRecords;
      withoutErased: DropErased;
      withoutErasedSpans: DropErasedSpans;
      registry: Registry;
    }) {
      await ensureRecordStream(nats, config, logger);
      const stream = recordPublisher(nats, config);
      health = new ClusterHealth(nats, config);
      const streamMetrics = new StreamMetrics(deps.registry, nats, config);
      nodes.exposeIn(deps.registry);
      // A gateway only publishes: it holds no consumer, and its /ready does not wait for one.
      if (consumesStream(config)) {
        const watched = health;
        watched.expectConsumer();
        const committed = await CommittedRecords.open(new StreamPositionStore(deps.storage));
        startConsuming = async () => {
          consumer = await StreamConsumer.start(
            nats,
            config,
            nodeId,
            deps.commit,
            logger,
            committed,
            (count) => streamMetrics.recordsSkipped.inc(count),
            deps.withoutErased,
            spanCommitter(deps.storage, deps.withoutErasedSpans, logger),
          );
          watched.watch(consumer);
        };
      }
      return {
        stream,
        /** The stream's last sequence now: what an erasure executed at this moment covers. */
        lastSequence: () => streamLastSequence(nats, config),
        stop: async () => {
          await consumer?.stop();
          await leases.releaseAll();
          await nodes.leave();
          await nats.drain().catch(() => undefined);
        },
      };
    },
    /** This node's deletion ledger lines, kept in a bucket: a node lost with its disk gets its ledger back. */
    ledgerReplica: () => replicatedLedger(nats, config, nodeId, logger),
    /** The archive key ring every node uses: data keys wrapped under the master key, which stays off NATS. */
    archiveKeys: () => replicatedArchiveKeys(nats, config, logger),
    /** Every node's deletion ledger as the bucket holds it (an operator fetching a lost node's). */
    ledgers: () => replicatedLedgers(nats, config, logger),
    /** Secrets every node holds the same (the alert fingerprint key), agreed through a bucket. */
    secrets: () => ClusterSecrets.open(nats, config, logger),
    /** Replicates the server-side state every node must see the same; resolves once every bucket's content is applied here. */
    replicate: (owners: ReplicatedOwners) => replicateState(nats, config, owners, logger),
    /**
     * Called last, once the server has started: a restarted node's catch-up
     * commits, run on this thread, starved its own start-up requests to
     * JetStream until they timed out.
     */
    startConsuming: () => startConsuming(),
    /** What keeps this node from being ready (for /ready): NATS, or this node's consumer not attached, behind or stopped. */
    problem: async () => health?.problem(),
  };
}
