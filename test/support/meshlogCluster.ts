import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startMeshlog, tempDataDir, type RunningMeshlog } from './meshlogProcess.js';
import type { NatsCluster } from './natsCluster.js';
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
  options: { cluster?: string[]; config?: string } = {},
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
  const node: ClusterNode = {
    id,
    meshlog: await startMeshlog({ args: ['--config', file] }),
    restart: async () => {
      node.meshlog = await startMeshlog({ dataDir: node.meshlog.dataDir, args: ['--config', file] });
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
