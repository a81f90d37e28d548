import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { SpanRecord } from '../model/spanRecord.js';
import type { ClusterConfig } from './clusterConfig.js';
import type { CommittedRecords } from './committedRecords.js';
import { untilJetStreamAnswers } from './jetStreamStart.js';
import { decodeRecords } from './recordCodec.js';
import { spanSubject } from './recordStream.js';
import { decodeSpans } from './spanCodec.js';

/** Commits records to this node's storage; resolves once they are committed (the writer, behind the redelivery filter). */
export type CommitRecords = (records: LogRecord[], receiver: string) => Promise<void>;

/**
 * A stream message's records without those an erasure executed after the
 * stream took the message covers (`seq`, its stream sequence, or for older
 * evidence `streamTimeMs`, when the stream took it): a node replaying the
 * stream never stores erased records again.
 */
export type DropErased = (records: LogRecord[], seq: number, streamTimeMs: number) => Promise<LogRecord[]>;

/**
 * Stores the spans of a stream message this node does not hold yet (a
 * message given again after its insert, the node having died or lost the
 * acknowledgement, stores nothing twice), without those an erasure executed
 * after the stream took them (`seq`, `streamTimeMs`) covers; resolves once
 * they are stored.
 */
export type CommitSpans = (spans: SpanRecord[], seq: number, streamTimeMs: number) => Promise<void>;

/** A stream message a commit refused for now (queue full, storage down) comes back after this. */
const retryDelayMs = 1000;
const leaderWaitMs = 30_000;
const pullExpiresMs = 5_000;

/**
 * This node's copy of the whole stream: a durable consumer of its own
 * (meshlog-<node id>) feeds every message to the local writer and
 * acknowledges it only after the commit, so a node that dies resumes where
 * its storage stopped and every node ends up holding every record.
 */
export class StreamConsumer {
  private messages: ConsumerMessages | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private running: Promise<void> | undefined;
  private stopping = false;

  private constructor(
    readonly durable: string,
    private readonly commit: CommitRecords,
    private readonly committed: CommittedRecords,
    private readonly logger: Logger,
    private readonly countSkipped: (records: number) => void,
    private readonly dropErased: DropErased,
    private readonly commitSpans: CommitSpans,
    private readonly spans: string,
  ) {}

  static async start(
    connection: NatsConnection,
    config: ClusterConfig,
    nodeId: string,
    commit: CommitRecords,
    logger: Logger,
    committed: CommittedRecords,
    countSkipped: (records: number) => void = () => undefined,
    dropErased: DropErased = async (records) => records,
    commitSpans: CommitSpans = async () => undefined,
  ): Promise<StreamConsumer> {
    const durable = `meshlog-${nodeId}`;
    const manager = await untilJetStreamAnswers('stream manager', () => jetstreamManager(connection), logger);
    await untilJetStreamAnswers(
      durable,
      async () => {
        try {
          await manager.consumers.info(config.stream.name, durable);
        } catch {
          await manager.consumers.add(config.stream.name, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            // Longer than a group commit under load: a message redelivered while its commit still runs is only filtered, never lost.
            ack_wait: nanos(60_000),
            max_ack_pending: config.stream.max_ack_pending,
          });
        }
      },
      logger,
    );
    // A pull sent before the new consumer has a leader is lost until it expires: wait for the leader first.
    const deadline = Date.now() + leaderWaitMs;
    const hasLeader = async () =>
      Boolean((await manager.consumers.info(config.stream.name, durable).catch(() => undefined))?.cluster?.leader);
    while (!(await hasLeader()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const consumer = new StreamConsumer(
      durable,
      commit,
      committed,
      logger,
      countSkipped,
      dropErased,
      commitSpans,
      spanSubject(config.stream.name),
    );
    const source = await untilJetStreamAnswers(
      `${durable} pull`,
      () => jetstream(connection).consumers.get(config.stream.name, durable),
      logger,
    );
    // Short pulls: one lost in a leader change is re-sent within seconds, not after the default 30 s.
    consumer.messages = await source.consume({ max_messages: Math.min(config.stream.max_ack_pending, 500), expires: pullExpiresMs });
    consumer.running = consumer.run(consumer.messages);
    logger.info({ stream: config.stream.name, consumer: durable }, 'consuming the record stream');
    return consumer;
  }

  /** Whether this node is taking messages from its consumer (false once the loop ended, for /ready). */
  get isRunning(): boolean {
    return this.running !== undefined && !this.stopping;
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const message of messages) {
        // Not awaited: concurrent messages meet in one group commit.
        const handled = this.handle(message);
        this.inFlight.add(handled);
        void handled.finally(() => this.inFlight.delete(handled));
      }
    } finally {
      if (!this.stopping) this.logger.error({ consumer: this.durable }, 'the record stream consumer stopped');
      this.stopping = true;
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    if (message.subject === this.spans) return this.handleSpans(message);
    let decoded: ReturnType<typeof decodeRecords>;
    try {
      decoded = decodeRecords(message.data);
    } catch (error) {
      this.logger.error({ seq: message.seq, reason: (error as Error).message }, 'record stream message cannot be decoded; dropped');
      message.term();
      return;
    }
    const seq = message.seq;
    let records = decoded.records;
    for (let pos = 0; pos < records.length; pos++) records[pos].stream = { seq, pos };
    try {
      await this.committed.handle(seq, message.redelivered, async (stored) => {
        // Delivered before (the node died, or its acknowledgement was lost, after the commit): store only what is missing.
        if (stored.size > 0) {
          records = records.filter((record) => !stored.has(record.stream!.pos));
          this.countSkipped(decoded.records.length - records.length);
          this.logger.info({ seq, skipped: decoded.records.length - records.length }, 'stream message committed before; stored once');
        }
        // After the redelivery filter: a record stored before an erasure's execution is the stored-row erasure's, not counted twice.
        records = await this.dropErased(records, seq, Math.floor(message.info.timestampNanos / 1_000_000));
        await this.commit(records, decoded.receiver);
      });
      message.ack();
    } catch (error) {
      if (error instanceof MeshlogError && error.code === 'ML_RECORDS_REFUSED') {
        // Storage refuses these records as data on every try: retrying would stop nothing but this message.
        this.logger.error({ seq: message.seq, reason: error.message }, 'records of the stream refused by storage; dropped');
        message.term();
        return;
      }
      message.nak(retryDelayMs);
    }
  }

  private async handleSpans(message: JsMsg): Promise<void> {
    let spans: SpanRecord[];
    try {
      spans = decodeSpans(message.data);
    } catch (error) {
      this.logger.error({ seq: message.seq, reason: (error as Error).message }, 'span stream message cannot be decoded; dropped');
      message.term();
      return;
    }
    try {
      // Through the same per-message turn as records (a redelivery waits for the insert of the delivery before it), without
      // the records' position lookup: the span committer looks up the spans themselves, redelivered or not.
      const streamTimeMs = Math.floor(message.info.timestampNanos / 1_000_000);
      await this.committed.inTurn(message.seq, () => this.commitSpans(spans, message.seq, streamTimeMs));
      message.ack();
    } catch (error) {
      if (error instanceof MeshlogError && error.code === 'ML_RECORDS_REFUSED') {
        this.logger.error({ seq: message.seq, reason: error.message }, 'spans of the stream refused by storage; dropped');
        message.term();
        return;
      }
      message.nak(retryDelayMs);
    }
  }

  /** Stops taking messages and waits for those being committed (their acks follow their commits). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.running;
    await Promise.allSettled([...this.inFlight]);
  }
}
