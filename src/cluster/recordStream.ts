import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { SpanRecord } from '../model/spanRecord.js';
import type { ClusterConfig } from './clusterConfig.js';
import { untilJetStreamAnswers } from './jetStreamStart.js';
import { encodeRecords, type EncodedMessage } from './recordCodec.js';
import { encodeSpans } from './spanCodec.js';

/** What receivers hand accepted records and spans to in a cluster: resolves once the stream has persisted them. */
export interface RecordPublisher {
  publish: (records: LogRecord[], receiver: string) => Promise<void>;
  publishSpans: (spans: SpanRecord[]) => Promise<void>;
}

export const recordSubject = (stream: string) => `meshlog.${stream}.records`;
/** Spans travel on the same stream (one consumer per node, one position, one catch-up), on their own subject. */
export const spanSubject = (stream: string) => `meshlog.${stream}.spans`;
const subjects = (stream: string) => [recordSubject(stream), spanSubject(stream)];

/** Creates the replicated record stream if no node did yet (every node asks; the first one creates it). */
export async function ensureRecordStream(connection: NatsConnection, config: ClusterConfig, logger: Logger): Promise<void> {
  await untilJetStreamAnswers('record stream', () => createIfMissing(connection, config, logger), logger);
}

async function createIfMissing(connection: NatsConnection, config: ClusterConfig, logger: Logger): Promise<void> {
  const manager = await jetstreamManager(connection);
  const { stream } = config;
  let existing: Awaited<ReturnType<typeof manager.streams.info>> | undefined;
  try {
    existing = await manager.streams.info(stream.name);
  } catch {
    // Not there yet: create it below.
  }
  if (existing) {
    // A stream created before spans were replicated takes the spans' subject too.
    const missing = subjects(stream.name).filter((subject) => !existing.config.subjects?.includes(subject));
    if (missing.length > 0) {
      await manager.streams.update(stream.name, { subjects: [...(existing.config.subjects ?? []), ...missing] });
      logger.info({ stream: stream.name, subjects: missing }, 'record stream takes new subjects');
    }
    return;
  }
  try {
    await manager.streams.add({
      name: stream.name,
      subjects: subjects(stream.name),
      num_replicas: stream.replicas,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(stream.max_age_ms),
      duplicate_window: nanos(stream.duplicate_window_ms),
    });
    logger.info({ stream: stream.name, replicas: stream.replicas }, 'record stream created');
  } catch (error) {
    // Another node created it at the same moment.
    await manager.streams.info(stream.name).catch(() => {
      throw error;
    });
  }
}

/** The last sequence the record stream holds: every message published (and acknowledged) before now is at or below it. */
export async function streamLastSequence(connection: NatsConnection, config: ClusterConfig): Promise<number> {
  const manager = await jetstreamManager(connection);
  return (await manager.streams.info(config.stream.name)).state.last_seq;
}

/**
 * Publishes one request's records or spans (in messages of at most
 * max_message_bytes) and resolves once JetStream acknowledged every message:
 * with R3 that means two of three servers persisted it. A failure is
 * retryable (503): the client's retry carries the same message ids, so what
 * did get in is not stored twice.
 */
export function recordPublisher(connection: NatsConnection, config: ClusterConfig): RecordPublisher {
  const client: JetStreamClient = jetstream(connection);
  const send = async (subject: string, messages: EncodedMessage[]) => {
    try {
      await Promise.all(messages.map((message) => client.publish(subject, message.payload, { msgID: message.id })));
    } catch (error) {
      throw new MeshlogError('ML_UNAVAILABLE', `record stream: ${(error as Error).message}`, { retryAfterSeconds: 1, cause: error });
    }
  };
  return {
    publish: async (records, receiver) => {
      if (records.length === 0) return;
      await send(recordSubject(config.stream.name), encodeRecords(records, receiver, config.stream.max_message_bytes));
    },
    publishSpans: async (spans) => {
      if (spans.length === 0) return;
      await send(spanSubject(config.stream.name), encodeSpans(spans, config.stream.max_message_bytes));
    },
  };
}
