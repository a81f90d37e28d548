import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { ClusterConfig } from './clusterConfig.js';

/** /ready is probed often: JetStream is asked at most this often, and never waited on longer than the timeout. */
const cacheMs = 1_000;
const timeoutMs = 2_000;

/** This node's consumer of the stream, as /ready watches it: its durable name and whether it keeps taking records. */
export interface RunningPart {
  readonly durable: string;
  readonly isRunning: boolean;
}

/**
 * What keeps a cluster node from doing its job, for /ready: the NATS
 * connection lost (the client is reconnecting), the record stream not
 * answering (no JetStream quorum: publishes would be refused), or, on a
 * node that commits the stream, its consumer not attached yet, not yet
 * caught up since the start, or stopped. Undefined when all is well.
 */
export class ClusterHealth {
  private connected = true;
  private checked: { at: number; problem: Promise<string | undefined> } | undefined;
  /** Set on a node that commits the stream from its start on, so /ready waits for the consumer before it is attached. */
  private consumerExpected = false;
  private consumer: RunningPart | undefined;
  /**
   * Latched: once the consumer came within `ready_max_lag` after the start,
   * lag no longer makes the node unready. A burst that puts every node
   * behind would otherwise take them all out of the load balancer at once.
   */
  private caughtUp = false;

  constructor(
    private readonly connection: NatsConnection,
    private readonly config: ClusterConfig,
  ) {
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect') this.connected = false;
        else if (status.type === 'reconnect') this.connected = true;
      }
    })();
  }

  /** This node will consume the stream (not a gateway): not ready until `watch` is given the consumer. */
  expectConsumer(): void {
    this.consumerExpected = true;
  }

  /** The consumer /ready watches (a node without one, a gateway, has none). */
  watch(consumer: RunningPart): void {
    this.consumer = consumer;
  }

  problem(): Promise<string | undefined> {
    if (this.connection.isClosed()) return Promise.resolve('NATS connection closed');
    if (!this.connected) return Promise.resolve('NATS connection lost (reconnecting)');
    if (this.consumerExpected && !this.consumer) return Promise.resolve('record stream consumer not attached yet');
    if (this.consumer && !this.consumer.isRunning) return Promise.resolve(`record stream consumer ${this.consumer.durable} stopped`);
    if (!this.checked || Date.now() - this.checked.at > cacheMs) this.checked = { at: Date.now(), problem: this.jetStreamProblem() };
    return this.checked.problem;
  }

  private async jetStreamProblem(): Promise<string | undefined> {
    return (await this.streamProblem()) ?? (await this.lagProblem());
  }

  /** Until caught up once: how far this node's consumer is behind the stream, over the bound. */
  private async lagProblem(): Promise<string | undefined> {
    if (!this.consumer || this.caughtUp) return undefined;
    const { durable } = this.consumer;
    try {
      const manager = await jetstreamManager(this.connection, { timeout: timeoutMs });
      const info = await manager.consumers.info(this.config.stream.name, durable);
      // Delivered but not yet committed counts too: those records are not searchable here yet.
      const behind = info.num_pending + info.num_ack_pending;
      if (behind <= this.config.stream.ready_max_lag) {
        this.caughtUp = true;
        return undefined;
      }
      return `record stream consumer ${durable} catching up: ${behind} messages behind (ready at ${this.config.stream.ready_max_lag})`;
    } catch (error) {
      return `record stream consumer ${durable} lag unknown: ${(error as Error).message}`;
    }
  }

  private async streamProblem(): Promise<string | undefined> {
    try {
      const manager = await jetstreamManager(this.connection, { timeout: timeoutMs });
      const info = await manager.streams.info(this.config.stream.name);
      // A replicated stream without a leader takes no publish.
      if (info.cluster && !info.cluster.leader) return `record stream ${this.config.stream.name} has no leader`;
      return undefined;
    } catch (error) {
      return `record stream ${this.config.stream.name} unreachable: ${(error as Error).message}`;
    }
  }
}
