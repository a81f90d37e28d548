import type { NatsConnection } from '@nats-io/transport-node';
import { KvWatchInclude } from '@nats-io/kv';
import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { ArchiveKeyBucket } from '../model/archiveKeyBucket.js';
import { MeshlogError } from '../errors.js';
import type { ClusterConfig } from './clusterConfig.js';
import { untilJetStreamAnswers } from './jetStreamStart.js';
import { bucketKey, openBucket } from './replicatedState.js';

const bucketName = 'meshlog_archive_keys';

const nameOf = (key: string) => Buffer.from(key, 'base64url').toString('utf8');

/** NATS not answering: the request may be made again. */
const unavailable = (error: unknown) =>
  new MeshlogError('ML_UNAVAILABLE', `the cluster's archive key ring cannot be reached: ${(error as Error).message}`, {
    retryAfterSeconds: 1,
    cause: error,
  });

/**
 * The cluster's archive key ring in the replicated bucket
 * `meshlog_archive_keys` (kept for good): data keys wrapped under the master
 * key, which never goes to NATS. Reads go to the stream's leader (as for
 * every bucket, openBucket), so a node never decides on a replica's older
 * value. A write replaces revision r only if r is still the last and carries
 * the message id `<key>@<r>`: of two nodes writing over the same revision at
 * once JetStream keeps one (the sequence check alone lets both through on
 * nats-server before 2.9.21, as leases.ts says).
 */
export async function replicatedArchiveKeys(connection: NatsConnection, config: ClusterConfig, logger: Logger): Promise<ArchiveKeyBucket> {
  const bucket = await openBucket(connection, bucketName, { replicas: config.stream.replicas, history: 1 }, logger);
  const client = jetstream(connection);
  return {
    get: async (name) => {
      const entry = await bucket.get(bucketKey(name)).catch((error: unknown) => {
        throw unavailable(error);
      });
      return entry?.operation === 'PUT' ? { text: entry.string(), revision: entry.revision } : undefined;
    },
    // At start too, when JetStream may still be electing the bucket's leader.
    names: () =>
      untilJetStreamAnswers(
        `${bucketName} keys`,
        async () => {
          const names: string[] = [];
          for await (const key of await bucket.keys()) names.push(nameOf(key));
          return names;
        },
        logger,
      ),
    replace: async (name, text, revision) => {
      const key = bucketKey(name);
      try {
        const ack = await client.publish(`$KV.${bucketName}.${key}`, text, {
          msgID: `${key}@${revision}`,
          expect: { lastSubjectSequence: revision },
        });
        return !ack.duplicate;
      } catch (error) {
        // Another node wrote first. Anything else (no answer) is the caller's to report.
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence) return false;
        throw unavailable(error);
      }
    },
    watch: async (changed) => {
      const watch = await bucket.watch({ include: KvWatchInclude.UpdatesOnly, ignoreDeletes: true });
      void (async () => {
        for await (const entry of watch) changed(nameOf(entry.key));
      })().catch((error: unknown) =>
        logger.error({ bucket: bucketName, reason: (error as Error).message }, 'archive key ring watch ended'),
      );
      return () => watch.stop();
    },
  };
}
