import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { LimitedTraffic, LimitShare } from '../model/limitShare.js';
import type { ClusterConfig } from './clusterConfig.js';
import { openBucket } from './replicatedState.js';

const bucketName = 'meshlog_nodes';

/** A node is counted while its last heartbeat is at most this many heartbeats old (one lost heartbeat does not drop it). */
const heartbeatsLive = 3;

type Role = ClusterConfig['role'];

/** The roles whose nodes take each traffic: a gateway takes no queries (it stores nothing), a writer opens no receiver. */
const takers: Record<LimitedTraffic, readonly Role[]> = { ingest: ['all', 'gateway'], query: ['all', 'writer'] };

/** One node's heartbeat as read from the bucket: its key, what it says, and when the NATS server stored it. */
export interface Heartbeat {
  node: string;
  value: unknown;
  storedAt: number;
}

const isRole = (value: unknown): value is Role => value === 'all' || value === 'gateway' || value === 'writer';

/**
 * How many live nodes take each traffic, from the heartbeats in the bucket.
 * Live is judged by the NATS server's clock (when it stored each heartbeat,
 * against when it stored this node's own last one), never by what a node
 * says: a node cannot keep itself or another counted by writing a time.
 * Only the role is read from a value; anything else in it is ignored, and a
 * value that names no role is not counted. This node is counted from its
 * own config, whatever the bucket says under its name.
 */
export function nodesTaking(
  heartbeats: readonly Heartbeat[],
  own: { node: string; role: Role; storedAt: number },
  liveMs: number,
): Record<LimitedTraffic, number> {
  const roles = new Map<string, Role>([[own.node, own.role]]);
  for (const { node, value, storedAt } of heartbeats) {
    if (node === own.node || own.storedAt - storedAt > liveMs) continue;
    const role = (value as { role?: unknown } | null)?.role;
    if (isRole(role)) roles.set(node, role);
  }
  const count = (traffic: LimitedTraffic) => Math.max(1, [...roles.values()].filter((role) => takers[traffic].includes(role)).length);
  return { ingest: count('ingest'), query: count('query') };
}

/**
 * The cluster's membership, for the limits' global strategy: every node
 * puts a heartbeat (its role) under its node id in the replicated bucket
 * `meshlog_nodes` every `cluster.membership.heartbeat_ms`, reads everyone's,
 * and counts the live nodes of the roles that take ingest and queries. A
 * stopping node removes its heartbeat, so the others' share grows at their
 * next heartbeat; a killed one is dropped after three missed heartbeats.
 * When NATS cannot be reached the last count stays (a node cut off does not
 * take the whole limit because it sees nobody); before the first count a
 * node counts itself alone.
 */
export class NodeRegistry implements LimitShare {
  private counts: Record<LimitedTraffic, number> = { ingest: 1, query: 1 };
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();

  private constructor(
    private readonly bucket: KV,
    private readonly nodeId: string,
    private readonly role: Role,
    private readonly heartbeatMs: number,
    private readonly logger: Logger,
  ) {}

  static async open(connection: NatsConnection, config: ClusterConfig, nodeId: string, logger: Logger): Promise<NodeRegistry> {
    const heartbeatMs = config.membership.heartbeat_ms;
    // The bucket forgets a node silent for long (its last heartbeat ages out), so it does not grow with every node that ever ran.
    const bucket = await openBucket(
      connection,
      bucketName,
      // Read from the stream leader (every bucket is): a lagging replica would show this node's own heartbeat older than it is.
      { replicas: config.stream.replicas, history: 1, ttl: heartbeatMs * heartbeatsLive * 10 },
      logger,
    );
    const registry = new NodeRegistry(bucket, nodeId, config.role, heartbeatMs, logger);
    await registry.beat();
    registry.timer = setInterval(() => {
      registry.beating = registry.beat();
    }, heartbeatMs);
    registry.timer.unref();
    return registry;
  }

  nodesTaking(traffic: LimitedTraffic): number {
    return this.counts[traffic];
  }

  /** The count in /metrics: `meshlog_cluster_nodes{traffic}`. */
  exposeIn(registry: Registry): void {
    const counts = () => this.counts;
    new Gauge({
      name: 'meshlog_cluster_nodes',
      help: 'Live cluster nodes taking each traffic, as this node last counted them (its share of a rate limit is the limit divided by this)',
      labelNames: ['traffic'] as const,
      registers: [registry],
      collect() {
        for (const traffic of ['ingest', 'query'] as const) this.set({ traffic }, counts()[traffic]);
      },
    });
  }

  /** Puts this node's heartbeat, then counts everyone's; on any failure the last count stays. */
  private async beat(): Promise<void> {
    try {
      const revision = await this.bucket.put(this.nodeId, JSON.stringify({ role: this.role }));
      const heartbeats: Heartbeat[] = [];
      let ownStoredAt: number | undefined;
      for await (const node of await this.bucket.keys()) {
        const entry = await this.bucket.get(node);
        if (entry?.operation !== 'PUT') continue;
        if (node === this.nodeId) {
          if (entry.revision === revision) ownStoredAt = entry.created.getTime();
          continue;
        }
        let value: unknown;
        try {
          value = entry.json();
        } catch {
          value = undefined;
        }
        heartbeats.push({ node, value, storedAt: entry.created.getTime() });
      }
      // Another write under this node's name came after ours: no server time to judge the others by this round.
      if (ownStoredAt === undefined) return;
      const counts = nodesTaking(
        heartbeats,
        { node: this.nodeId, role: this.role, storedAt: ownStoredAt },
        this.heartbeatMs * heartbeatsLive,
      );
      if (counts.ingest !== this.counts.ingest || counts.query !== this.counts.query)
        this.logger.info({ nodes: counts }, 'live cluster nodes changed: each node enforces its share of the limits');
      this.counts = counts;
    } catch (error) {
      this.logger.warn({ reason: (error as Error).message, nodes: this.counts }, 'cluster membership not read: the last count stays');
    }
  }

  /** A stopping node leaves: its heartbeat is removed so the others take its share now, not after it goes silent. */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    await this.bucket.delete(this.nodeId).catch(() => undefined);
  }
}
