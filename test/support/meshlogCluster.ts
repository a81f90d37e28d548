import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startMeshlog, tempDataDir, type RunningMeshlog } from './meshlogProcess.js';
import { freePort, startNatsCluster, type NatsCluster } from './natsCluster.js';
import { waitFor } from './waitFor.js';

/** One meshlog node of a test cluster: stop or kill it, then `restart` it on its own data directory and config. */
export interface ClusterNode {
  id: string;
  meshlog: RunningMeshlog;
  restart: () => Promise<RunningMeshlog>;
}

/**
 * Starts a real `meshlog start` with `cluster.enabled` on the given NATS
 * cluster. `cluster` adds lines to the cluster section (e.g. `leases: { ttl_ms: 3000 }`),
 * `config` adds top-level sections (alerting…).
 */
export async function startClusterNode(
  nats: NatsCluster,
  id: string,
  options: { cluster?: string[]; config?: string; httpPort?: number } = {},
): Promise<ClusterNode> {
  const file = join(tempDataDir('meshlog-config-'), 'meshlog.yaml');
  const clusterLines = [
    `  enabled: true`,
    `  node_id: ${id}`,
    `  nats:`,
    `    servers: [${nats.urls.join(', ')}]`,
    ...(options.cluster ?? []).map((line) => `  ${line}`),
  ];
  writeFileSync(file, `cluster:\n${clusterLines.join('\n')}\n${options.config ?? ''}`);
  // A fixed port (instead of a new one at each start) keeps the node at the URL senders were given.
  const args = ['--config', file, ...(options.httpPort ? ['--http-port', String(options.httpPort)] : [])];
  const node: ClusterNode = {
    id,
    meshlog: await startMeshlog({ args }),
    restart: async () => {
      node.meshlog = await startMeshlog({ dataDir: node.meshlog.dataDir, args });
      return node.meshlog;
    },
  };
  return node;
}

/** A node has committed (and acknowledged) every message of the record stream: its durable consumer has nothing pending. */
export async function caughtUp(observer: NatsConnection, id: string, stream = 'MESHLOG_RECORDS'): Promise<void> {
  await waitFor(
    async () => {
      try {
        // Made per look: right after the NATS servers come back, JetStream may not answer yet (a timeout, not an answer).
        const manager = await jetstreamManager(observer);
        const info = await manager.consumers.info(stream, `meshlog-${id}`);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      } catch {
        return false;
      }
    },
    { what: `node ${id} to commit the whole stream`, timeoutMs: 180_000, intervalMs: 200 },
  );
}

/** What a test cluster node is started with: `role` becomes cluster.role, the rest as for startClusterNode. */
export interface NodeSpec {
  id: string;
  role?: 'all' | 'gateway' | 'writer';
  cluster?: string[];
  config?: string;
  /** Keep this HTTP port across restarts (default: a new free one at each start). */
  fixedPort?: boolean;
}

/** 3 nats-server processes, a connection of the test's own to them, and meshlog nodes on them. */
export interface TestCluster {
  nats: NatsCluster;
  /** The test's own NATS connection (JetStream info, consumers, buckets); reconnects forever. */
  observer: NatsConnection;
  nodes: ClusterNode[];
  node: (id: string) => ClusterNode;
  /** Stops every meshlog node (SIGTERM), the observer and the NATS servers. */
  stop: () => Promise<void>;
}

/**
 * The set-up every cluster test repeats: a real 3-server JetStream cluster on
 * loopback, an observer connection, then the nodes, started together (as a
 * new cluster is deployed). `nats`: accounts and the credentials of meshlog's user.
 */
export async function startTestCluster(
  specs: NodeSpec[],
  options: { nats?: Parameters<typeof startNatsCluster>[1] } = {},
): Promise<TestCluster> {
  const nats = await startNatsCluster(3, options.nats);
  const observer = await connect({ servers: nats.urls, maxReconnectAttempts: -1, ...options.nats?.credentials });
  const nodes = await Promise.all(
    specs.map(async (spec) =>
      startClusterNode(nats, spec.id, {
        cluster: [...(spec.role ? [`role: ${spec.role}`] : []), ...(spec.cluster ?? [])],
        config: spec.config,
        httpPort: spec.fixedPort ? await freePort() : undefined,
      }),
    ),
  );
  return {
    nats,
    observer,
    nodes,
    node: (id) => {
      const found = nodes.find((node) => node.id === id);
      if (!found) throw new Error(`no node ${id}`);
      return found;
    },
    stop: async () => {
      await Promise.all(nodes.map((node) => node.meshlog.stop()));
      await observer.close();
      await nats.stop();
    },
  };
}
