import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { ClusterConfig } from './clusterConfig.js';
import { untilJetStreamAnswers } from './jetStreamStart.js';
import { openBucket } from './replicatedState.js';

const bucketName = 'meshlog_cluster_secrets';

/** Secret names are ours (letters, digits, `-` and `_`): one bucket key each. */
const secretName = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Secrets every node must hold the same (the alert fingerprint key), one
 * entry each in a replicated JetStream key-value bucket, written once and
 * never changed. The first node to ask puts its proposal, create-if-absent:
 * a publish over revision 0 only (expected last subject sequence 0) with the
 * message id `<name>@0`, as for leases (leases.ts: on nats-server before
 * 2.9.21 the sequence check alone lets two concurrent writers through).
 * Whatever the publish answered, the node then reads the entry back from the
 * stream leader (no direct get from a lagging replica) and takes that: of
 * nodes starting together, every one ends with the value that landed first.
 * Anyone who can read this bucket on the NATS servers has the secrets.
 */
export class ClusterSecrets {
  private constructor(
    private readonly bucket: KV,
    private readonly client: JetStreamClient,
    private readonly logger: Logger,
  ) {}

  static async open(connection: NatsConnection, config: ClusterConfig, logger: Logger): Promise<ClusterSecrets> {
    const bucket = await openBucket(connection, bucketName, { replicas: config.stream.replicas, history: 1 }, logger);
    return new ClusterSecrets(bucket, jetstream(connection), logger);
  }

  /** The cluster's value of the secret: the one already there, else `proposed` once this node put it first. */
  agreed(name: string, proposed: Buffer): Promise<Buffer> {
    if (!secretName.test(name)) throw new Error(`not a secret name: ${name}`);
    return untilJetStreamAnswers(
      `${bucketName} ${name}`,
      async () => {
        const existing = await this.bucket.get(name);
        if (existing?.operation === 'PUT') return Buffer.from(existing.string(), 'hex');
        await this.client
          .publish(`$KV.${bucketName}.${name}`, proposed.toString('hex'), { msgID: `${name}@0`, expect: { lastSubjectSequence: 0 } })
          // Another node's value landed first (wrong last sequence): it is read below.
          .catch((error: unknown) =>
            this.logger.debug({ secret: name, reason: (error as Error).message }, 'secret put first by another node'),
          );
        const written = await this.bucket.get(name);
        if (written?.operation !== 'PUT') throw new Error(`secret ${name} not in the bucket yet`);
        return Buffer.from(written.string(), 'hex');
      },
      this.logger,
    );
  }
}
