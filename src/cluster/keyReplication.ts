import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { StoredApiKey } from '../storage/stores/accessStore.js';
import type { ClusterConfig } from './clusterConfig.js';

const bucketName = 'meshlog_api_keys';

/** Takes a key another node created or revoked into this node's store and cache. */
export type ApplyKey = (key: StoredApiKey) => Promise<void>;

/**
 * API keys live in every node's own store; a replicated JetStream key-value
 * bucket carries each key's latest state (created, revoked) to every node.
 * Each node watches the bucket: at start it takes every key there is, then
 * each change within milliseconds, so a key revoked through one node stops
 * working on all of them.
 */
export class KeyReplication {
  private constructor(private readonly bucket: KV) {}

  static async start(connection: NatsConnection, config: ClusterConfig, apply: ApplyKey, logger: Logger): Promise<KeyReplication> {
    const bucket = await new Kvm(connection).create(bucketName, { replicas: config.stream.replicas, history: 1 });
    const watch = await bucket.watch();
    let initial = true;
    const ready = new Promise<void>((resolve) => {
      void (async () => {
        for await (const entry of watch) {
          if (entry.operation === 'PUT') {
            try {
              await apply(entry.json<StoredApiKey>());
            } catch (error) {
              logger.error({ key: entry.key, reason: (error as Error).message }, 'replicated API key not applied');
            }
          }
          // Delta 0 (or the first live change): every key that existed when the watch began has been applied.
          if (initial && (entry.delta === 0 || entry.isUpdate)) {
            initial = false;
            resolve();
          }
        }
      })();
    });
    // An empty bucket has nothing to deliver: there is nothing to wait for.
    if ((await bucket.status()).values > 0) await ready;
    return new KeyReplication(bucket);
  }

  /** Sends a key's new state to every node; resolves once the bucket has persisted it. */
  async put(key: StoredApiKey): Promise<void> {
    await this.bucket.put(`key.${key.id}`, JSON.stringify(key));
  }
}
