import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Creates (or binds) a bucket; nodes starting together create the same buckets at once, so JetStream may need asking again. */
export function openBucket(connection: NatsConnection, name: string, options: Partial<KvOptions>, logger: Logger): Promise<KV> {
  return untilJetStreamAnswers(name, () => new Kvm(connection).create(name, options), logger);
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
