import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import type { Replica } from '../model/replica.js';
import type { ClusterConfig } from './clusterConfig.js';

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
 * Creates (or binds) a bucket. Nodes starting together create the same
 * buckets at once, and JetStream may answer one of them `stream not found`
 * or time out while it places the other's: tried again for up to 30 s.
 */
export async function openBucket(connection: NatsConnection, name: string, options: Partial<KvOptions>): Promise<KV> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Kvm(connection).create(name, options);
    } catch (error) {
      if (attempt >= 60) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * Each node keeps the state in its own store; a replicated JetStream
 * key-value bucket per kind carries every value's latest version to every
 * node. Every node watches the bucket: at start it takes every value there
 * is, then each change as it arrives (milliseconds), in the order the bucket
 * took them, so every node converges on the same latest version.
 */
export async function replicateKind<T>(connection: NatsConnection, config: ClusterConfig, kind: ReplicatedKind<T>, logger: Logger) {
  const bucket: KV = await openBucket(connection, kind.bucket, {
    replicas: config.stream.replicas,
    history: 1,
    ...(kind.maxAgeMs ? { ttl: kind.maxAgeMs } : {}),
  });
  const watch = await bucket.watch();
  let initial = true;
  const ready = new Promise<void>((resolve) => {
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
  // An empty bucket has nothing to deliver: there is nothing to wait for.
  if ((await bucket.status()).values > 0) await ready;
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
