import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startMeshlog, type RunningMeshlog } from '../test/support/meshlogProcess.js';
import { startNatsCluster } from '../test/support/natsCluster.js';
import { startClusterNode } from '../test/support/meshlogCluster.js';
import { committedCount } from '../test/support/committedCount.js';

/** What a process of a case does, as the figures are grouped. */
export type BenchRole = 'standalone' | 'all' | 'gateway' | 'writer' | 'nats-server';

export interface BenchProcess {
  name: string;
  role: BenchRole;
  pid: number;
}

/** The processes of one bench case, running. */
export interface RunningCase {
  name: string;
  /** Load requests go to these nodes in turn; latency probes to the first. */
  entries: RunningMeshlog[];
  /** Every node that commits every record (whose live tail shows when a probe became searchable there). */
  stores: RunningMeshlog[];
  processes: BenchProcess[];
  /** Whether every store has committed all `sent` records sent since the case started. */
  allCommitted: (sent: number) => Promise<boolean>;
  stop: () => Promise<void>;
}

type NodeRole = 'all' | 'gateway' | 'writer';

/**
 * The cases: one node without NATS; one `all` node on a lone nats-server (R1)
 * and on 3 (R3), which together show what the stream and its replication cost;
 * the roles split over 3 nodes (all load through the gateway, so the gateway's
 * figures are receiving and publishing and the writer's committing); 3 `all`
 * nodes taking a third of the load each and committing all of it.
 */
export const caseSpecs: { name: string; natsServers?: 1 | 3; nodes?: { id: string; role: NodeRole }[]; entries?: string[] }[] = [
  { name: 'standalone' },
  { name: '1 all, 1 nats R1', natsServers: 1, nodes: [{ id: 'a', role: 'all' }] },
  { name: '1 all, 3 nats R3', natsServers: 3, nodes: [{ id: 'a', role: 'all' }] },
  {
    name: 'gateway+writer+all, 3 nats R3',
    natsServers: 3,
    nodes: [
      { id: 'gw', role: 'gateway' },
      { id: 'w', role: 'writer' },
      { id: 'all', role: 'all' },
    ],
    entries: ['gw'],
  },
  {
    name: '3 all, 3 nats R3',
    natsServers: 3,
    nodes: [
      { id: 'a', role: 'all' },
      { id: 'b', role: 'all' },
      { id: 'c', role: 'all' },
    ],
  },
];

export async function startCase(spec: (typeof caseSpecs)[number]): Promise<RunningCase> {
  if (!spec.natsServers || !spec.nodes) {
    const node = await startMeshlog();
    return {
      name: spec.name,
      entries: [node],
      stores: [node],
      processes: [{ name: 'standalone', role: 'standalone', pid: node.process.pid! }],
      // Its own counter: a standalone node has no stream to ask.
      allCommitted: async (sent) => (await committedCount(node, 'otlp_http')) >= sent,
      stop: async () => void (await node.stop()),
    };
  }
  const replicas = spec.natsServers;
  const nats = await startNatsCluster(spec.natsServers);
  const observer = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  const nodes = await Promise.all(
    spec.nodes.map(async ({ id, role }) => ({
      id,
      role,
      node: await startClusterNode(nats, id, { cluster: [`role: ${role}`, `stream: { replicas: ${replicas} }`] }),
    })),
  );
  const byId = (id: string) => nodes.find((node) => node.id === id)!.node.meshlog;
  const committers = nodes.filter((node) => node.role !== 'gateway');
  const manager = await jetstreamManager(observer);
  return {
    name: spec.name,
    entries: (spec.entries ?? nodes.map((node) => node.id)).map(byId),
    stores: committers.map((node) => node.node.meshlog),
    processes: [
      ...nodes.map(({ id, role, node }) => ({ name: id, role, pid: node.meshlog.process.pid! })),
      ...nats.nodes.map((server, i) => ({ name: `n${i + 1}`, role: 'nats-server' as const, pid: server.pid()! })),
    ],
    // The writers' consumers, asked of JetStream: polling a node's /metrics would add its own work to the node measured.
    allCommitted: async () => {
      for (const { id } of committers) {
        const info = await manager.consumers.info('MESHLOG_RECORDS', `meshlog-${id}`);
        if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
      }
      return true;
    },
    stop: async () => {
      await Promise.all(nodes.map(({ node }) => node.meshlog.stop()));
      await observer.close();
      await nats.stop();
    },
  };
}
