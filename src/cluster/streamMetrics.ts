import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterConfig } from './clusterConfig.js';

/** A scrape never waits longer than this for JetStream: /metrics answers even when NATS does not. */
const infoTimeoutMs = 2_000;

/**
 * The record stream's lag, per durable consumer of it (one per node: every
 * node's lag is visible on any node), read from JetStream at each scrape:
 * messages not yet delivered (num_pending), delivered but not acknowledged
 * (num_ack_pending), delivered more than once (num_redelivered).
 */
export class StreamMetrics {
  readonly recordsSkipped: Counter;

  constructor(registry: Registry, connection: NatsConnection, config: ClusterConfig) {
    const stream = config.stream.name;
    let consumers: ConsumerInfo[] = [];
    let up = 0;
    const ask = async () => {
      try {
        const manager = await jetstreamManager(connection, { timeout: infoTimeoutMs });
        consumers = await manager.consumers.list(stream).next();
        up = 1;
      } catch {
        // The last values stay; meshlog_stream_up says they are stale.
        up = 0;
      }
    };
    // The gauges of one scrape are collected together: they share one answer of JetStream.
    let asked: { at: number; answer: Promise<void> } | undefined;
    const consumersOf = () => {
      if (!asked || Date.now() - asked.at > 500) asked = { at: Date.now(), answer: ask() };
      return asked.answer;
    };
    const perConsumer = (name: string, help: string, value: (info: ConsumerInfo) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['stream', 'consumer'] as const,
        registers: [registry],
        async collect() {
          await consumersOf();
          this.reset();
          for (const info of consumers) this.set({ stream, consumer: info.name }, value(info));
        },
      });
    perConsumer('meshlog_stream_consumer_pending', 'Stream messages not yet delivered to the consumer (its lag)', (i) => i.num_pending);
    perConsumer(
      'meshlog_stream_consumer_ack_pending',
      'Stream messages delivered to the consumer and not yet acknowledged',
      (i) => i.num_ack_pending,
    );
    perConsumer(
      'meshlog_stream_consumer_redelivered',
      'Stream messages delivered to the consumer more than once',
      (i) => i.num_redelivered,
    );
    new Gauge({
      name: 'meshlog_stream_up',
      help: 'Whether JetStream answered for the record stream at this scrape (1) or not (0: the consumer gauges are stale)',
      registers: [registry],
      async collect() {
        await consumersOf();
        this.set(up);
      },
    });
    this.recordsSkipped = new Counter({
      name: 'meshlog_stream_records_skipped_total',
      help: 'Records of redelivered stream messages this node had committed already (died or lost the acknowledgement after its commit), not stored again',
      registers: [registry],
    });
  }
}
