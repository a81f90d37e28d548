import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions, type KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { Replica } from '../model/replica.js';
import type { ClusterConfig } from './clusterConfig.js';
import { untilJetStreamAnswers } from './jetStreamStart.js';

/** One kind of state: its bucket, the bucket key of a value, and its link to this node's owner of it. */
export interface ReplicatedKind<T> {
  bucket: string;
  keyOf: (value: T) => string;
  replica: Replica<T>;
  /** A value not changed for this long leaves the bucket (state that ends by itself, like sessions); kept for good when absent. */
  maxAgeMs?: number;
}

/** Bucket keys take letters, digits, `-`, `_`, `=` and `.`: names that may hold anything are encoded. */
export const bucketKey = (...parts: string[]) => parts.map((part) => Buffer.from(part).toString('base64url') || '=').join('.');

/**
 * Creates (or binds) a bucket whose reads are answered by its stream leader
 * (`allow_direct: false`): a direct get may be answered by any replica, and
 * a replica may not have applied the last write yet (a lease released a
 * moment ago read as still held, a line just put read as missing); the
 * leader answers only after it applied every write it acknowledged. A
 * bucket an older meshlog made with direct reads is updated in place (its
 * content stays; such a node reads from the leader too once it binds the
 * bucket again). Nodes starting together create and update the same
 * buckets at once, so JetStream may need asking again.
 */
export async function openBucket(
  connection: NatsConnection,
  name: string,
  options: Omit<Partial<KvOptions>, 'allow_direct'>,
  logger: Logger,
): Promise<KV> {
  const bucket = await untilJetStreamAnswers(name, () => new Kvm(connection).create(name, { ...options, allow_direct: false }), logger);
  await untilJetStreamAnswers(
    `${name} leader reads`,
    async () => {
      const manager = await jetstreamManager(connection);
      const stream = `KV_${name}`;
      if ((await manager.streams.info(stream)).config.allow_direct) {
        await manager.streams.update(stream, { allow_direct: false });
        logger.info({ bucket: name }, 'bucket switched to reads from its stream leader');
      }
    },
    logger,
  );
  return bucket;
}

/** How long a starting node waits for a bucket's content before it asks again with a new watch. */
const initialDeliveryMs = 20_000;

/** Applies every value a watch delivers to this node's store; resolves once the values the bucket held when the watch began are applied. */
function applyChanges<T>(watch: QueuedIterator<KvWatchEntry>, kind: ReplicatedKind<T>, logger: Logger): Promise<void> {
  let initial = true;
  return new Promise<void>((resolve) => {
    void (async () => {
      for await (const entry of watch) {
        if (entry.operation === 'PUT') {
          try {
            await kind.replica.apply(entry.json<T>());
          } catch (error) {
            logger.error({ bucket: kind.bucket, key: entry.key, reason: (error as Error).message }, 'replicated change not applied');
          }
        }
        // Delta 0 (or the first live change): every value that existed when the watch began has been applied.
        if (initial && (entry.delta === 0 || entry.isUpdate)) {
          initial = false;
          resolve();
        }
      }
    })();
  });
}

/**
 * Each node keeps the state in its own store; a replicated JetStream
 * key-value bucket per kind carries every value's latest version to every
 * node. Every node watches the bucket: at start it takes every value there
 * is, then each change as it arrives (milliseconds), in the order the bucket
 * took them, so every node converges on the same latest version.
 */
export async function replicateKind<T>(connection: NatsConnection, config: ClusterConfig, kind: ReplicatedKind<T>, logger: Logger) {
  const bucket = await openBucket(
    connection,
    kind.bucket,
    { replicas: config.stream.replicas, history: 1, ...(kind.maxAgeMs ? { ttl: kind.maxAgeMs } : {}) },
    logger,
  );
  // An empty bucket has nothing to deliver: there is nothing to wait for.
  const hasValues = (await untilJetStreamAnswers(`${kind.bucket} status`, () => bucket.status(), logger)).values > 0;
  for (;;) {
    const watch = await untilJetStreamAnswers(`${kind.bucket} watch`, () => bucket.watch(), logger);
    const ready = applyChanges(watch, kind, logger);
    if (!hasValues) break;
    // A watch whose first delivery stalled (seen on a loaded machine right after a NATS server was killed) would keep the node from starting forever.
    const delivered = await Promise.race([ready.then(() => true), sleep(initialDeliveryMs).then(() => false)]);
    if (delivered) break;
    logger.warn({ bucket: kind.bucket, waitedMs: initialDeliveryMs }, 'bucket content not delivered; watching again');
    watch.stop();
  }
  kind.replica.replicateTo(async (value) => {
    try {
      await bucket.put(kind.keyOf(value), JSON.stringify(value));
    } catch (error) {
      // Done on this node, not yet on the others: the client retries, which replicates it.
      throw new MeshlogError('ML_UNAVAILABLE', `not replicated to the other nodes: ${(error as Error).message}`, {
        retryAfterSeconds: 1,
        cause: error,
      });
    }
  });
}
