import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { ClusterConfig } from './clusterConfig.js';
import { untilJetStreamAnswers } from './jetStreamStart.js';
import { encodeRecords } from './recordCodec.js';

/** What receivers hand accepted records to in a cluster: resolves once the stream has persisted them. */
export interface RecordPublisher {
  publish: (records: LogRecord[], receiver: string) => Promise<void>;
}

export const recordSubject = (stream: string) => `meshlog.${stream}.records`;

/** Creates the replicated record stream if no node did yet (every node asks; the first one creates it). */
export async function ensureRecordStream(connection: NatsConnection, config: ClusterConfig, logger: Logger): Promise<void> {
  await untilJetStreamAnswers('record stream', () => createIfMissing(connection, config, logger), logger);
}

async function createIfMissing(connection: NatsConnection, config: ClusterConfig, logger: Logger): Promise<void> {
  const manager = await jetstreamManager(connection);
  const { stream } = config;
  try {
    await manager.streams.info(stream.name);
    return;
  } catch {
    // Not there yet: create it below.
  }
  try {
    await manager.streams.add({
      name: stream.name,
      subjects: [recordSubject(stream.name)],
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

/**
 * Publishes one request's records (in messages of at most max_message_bytes)
 * and resolves once JetStream acknowledged every message: with R3 that means
 * two of three servers persisted it. A failure is retryable (503): the
 * client's retry carries the same message ids, so what did get in is not
 * stored twice.
 */
export function recordPublisher(connection: NatsConnection, config: ClusterConfig): RecordPublisher {
  const client: JetStreamClient = jetstream(connection);
  const subject = recordSubject(config.stream.name);
  return {
    publish: async (records, receiver) => {
      if (records.length === 0) return;
      const messages = encodeRecords(records, receiver, config.stream.max_message_bytes);
      try {
        await Promise.all(messages.map((message) => client.publish(subject, message.payload, { msgID: message.id })));
      } catch (error) {
        throw new MeshlogError('ML_UNAVAILABLE', `record stream: ${(error as Error).message}`, { retryAfterSeconds: 1, cause: error });
      }
    },
  };
}
