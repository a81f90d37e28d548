import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import type { SharedFailures } from '../model/sharedFailures.js';
import type { ClusterConfig } from './clusterConfig.js';
import { bucketKey, openBucket } from './replicatedState.js';

const bucketName = 'meshlog_login_failures';

/** Two nodes adding a failure to the same source at once: one writes, the other reads again; past this many tries it counts alone. */
const maxTries = 20;

/**
 * Failed authentications counted by every node together: one value per
 * source (its newest failures) in a replicated JetStream key-value bucket,
 * each addition a compare-and-set on the key's revision, so N nodes allow
 * the limit, not N times it. As for leases (leases.ts), the write also
 * carries the message id `<key>@<revision>`: on nats-server before 2.9.21
 * the revision check alone lets two concurrent writers through. Reads go to
 * the stream leader (no direct get from a lagging replica): a failure
 * counted through one node is seen by the next check on any node. A value
 * lives one window after its last failure.
 */
export async function sharedLoginFailures(
  connection: NatsConnection,
  config: ClusterConfig,
  windowMs: number,
  logger: Logger,
): Promise<SharedFailures> {
  const bucket = await openBucket(
    connection,
    bucketName,
    {
      replicas: config.stream.replicas,
      history: 1,
      ttl: windowMs,
    },
    logger,
  );
  const client = jetstream(connection);
  const read = async (key: string) => {
    const entry = await bucket.get(key);
    return { revision: entry?.revision ?? 0, failures: entry?.operation === 'PUT' ? entry.json<number[]>() : [] };
  };
  return {
    recent: async (source) => (await read(bucketKey(source))).failures,
    add: async (source, at, keep) => {
      const key = bucketKey(source);
      for (let tries = 0; tries < maxTries; tries++) {
        const { revision, failures } = await read(key);
        const ack = await client
          .publish(`$KV.${bucketName}.${key}`, JSON.stringify([...failures, at].slice(-keep)), {
            msgID: `${key}@${revision}`,
            expect: { lastSubjectSequence: revision },
          })
          // Another node's failure came first (wrong last sequence): read again.
          .catch(() => undefined);
        if (ack && !ack.duplicate) return failures;
      }
      throw new Error(`failures of ${source} not counted: too many concurrent writers`);
    },
  };
}
