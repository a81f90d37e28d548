import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { ClusterConfig } from './clusterConfig.js';

/** /ready is probed often: JetStream is asked at most this often, and never waited on longer than the timeout. */
const cacheMs = 1_000;
const timeoutMs = 2_000;

/** Whether something a node needs keeps taking records: its consumer of the stream, where it has one. */
export interface RunningPart {
  readonly isRunning: boolean;
}

/**
 * What keeps a cluster node from doing its job, for /ready: the NATS
 * connection lost (the client is reconnecting), the record stream not
 * answering (no JetStream quorum: publishes would be refused), or this
 * node's consumer stopped. Undefined when all is well.
 */
export class ClusterHealth {
  private connected = true;
  private checked: { at: number; problem: Promise<string | undefined> } | undefined;
  private consumer: RunningPart | undefined;

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

  /** The consumer /ready watches (a node without one, a gateway, has none). */
  watch(consumer: RunningPart): void {
    this.consumer = consumer;
  }

  problem(): Promise<string | undefined> {
    if (this.connection.isClosed()) return Promise.resolve('NATS connection closed');
    if (!this.connected) return Promise.resolve('NATS connection lost (reconnecting)');
    if (this.consumer && !this.consumer.isRunning) return Promise.resolve('record stream consumer stopped');
    if (!this.checked || Date.now() - this.checked.at > cacheMs) this.checked = { at: Date.now(), problem: this.streamProblem() };
    return this.checked.problem;
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
