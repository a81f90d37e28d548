import { z } from 'zod';
import { byteSize, flag, positiveInt } from '../formats/configValues.js';

/** NATS subject and stream names: letters, digits, `-` and `_` (no `.`, `*`, `>` or spaces). */
const natsName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only');

/**
 * The `cluster` config section: several meshlog nodes share one NATS
 * JetStream cluster. Off by default: one node, no NATS, nothing changes.
 */
export const clusterSection = z
  .object({
    enabled: flag.default(false),
    /**
     * What this node does: `all` (default) receives and commits; `gateway` receives and publishes to the stream, holds
     * no consumer (it stores no record of the stream); `writer` commits the stream and opens no receiver listener
     * (syslog, forward, OTLP/gRPC; the HTTP API stays, for queries).
     */
    role: z.enum(['all', 'gateway', 'writer']).default('all'),
    /** This node's name in the cluster (its durable consumer is meshlog-<node_id>); default the data directory's writer id. */
    node_id: natsName.optional(),
    nats: z
      .object({
        /** Every server of the NATS cluster (the client fails over between them), e.g. nats://10.0.0.1:4222. */
        servers: z.array(z.string().min(1)).min(1).default(['nats://127.0.0.1:4222']),
        /** A NATS credentials file (JWT + NKey seed), or a token, or a user and password; better from the environment. Never logged. */
        creds_file: z.string().min(1).optional(),
        token: z.string().min(1).optional(),
        user: z.string().min(1).optional(),
        password: z.string().min(1).optional(),
        /** TLS to the NATS servers: the CA that signed them, and a client certificate where they ask for one. */
        tls: z
          .object({
            ca_file: z.string().min(1).optional(),
            cert_file: z.string().min(1).optional(),
            key_file: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    stream: z
      .object({
        /** The JetStream stream every accepted record goes through. */
        name: natsName.default('MESHLOG_RECORDS'),
        /** Copies JetStream keeps (1, 3 or 5); an acknowledgement means a quorum of them persisted the records. */
        replicas: z.coerce.number().int().min(1).max(5).default(3),
        /** Records of one request are published in messages up to this size (keep it under the servers' max_payload). */
        max_message_bytes: byteSize.default(900 * 1024),
        /** A request retried (to any node) within this window is stored once, whether or not its records carry ids. */
        duplicate_window_ms: positiveInt.default(120_000),
        /** How long the stream keeps records: a node down for longer cannot catch up from it. */
        max_age_ms: positiveInt.default(7 * 24 * 3600 * 1000),
        /** Stream messages a node's writer holds uncommitted at once. */
        max_ack_pending: positiveInt.default(1000),
        /**
         * A node that commits the stream is not ready after its start until its consumer is at most this many
         * messages behind (not yet delivered plus not yet acknowledged): it does not serve searches of stale data.
         */
        ready_max_lag: z.coerce.number().int().min(0).default(1000),
      })
      .strict()
      .prefault({}),
    membership: z
      .object({
        /**
         * Every node says it is alive this often (the bucket `meshlog_nodes`); a node silent for three of these is no longer
         * counted, and the others' share of the rate limits (`limits.strategy: global`) grows.
         */
        heartbeat_ms: positiveInt.default(5_000),
      })
      .strict()
      .prefault({}),
    leases: z
      .object({
        /** A lease its holder stopped renewing (dead, paused, cut off) may be taken by another node after this (keep the nodes' clocks in sync). */
        ttl_ms: positiveInt.default(15_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((cluster) => cluster.enabled || cluster.role === 'all', {
    message: 'a role other than all needs cluster.enabled',
    path: ['role'],
  })
  // Defaults come from the fields above (prefault parses {} through them), stated once.
  .prefault({});

export type ClusterConfig = z.infer<typeof clusterSection>;
