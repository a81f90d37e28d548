import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Replica } from '../model/replica.js';
import type { SharedFailures } from '../model/sharedFailures.js';
import type { PublishedKey } from '../model/publishedKey.js';
import type { SessionEvent } from '../storage/stores/sessionEventStore.js';
import type { VersionedHold } from '../storage/stores/retentionStore.js';
import type { ErasureRequest } from '../storage/stores/erasureStore.js';
import type { StoredApiKey } from '../storage/stores/accessStore.js';
import type { Silence, StoredRuleGroup } from '../storage/stores/alertStore.js';
import type { SavedQuery } from '../storage/stores/savedQueryStore.js';
import type { StoredTenant } from '../storage/stores/tenantStore.js';
import type { StoredUser } from '../storage/stores/userStore.js';
import type { ClusterConfig } from './clusterConfig.js';
import { bucketKey, replicateKind } from './replicatedState.js';
import { sharedLoginFailures } from './sharedLoginFailures.js';

/** This node's owners of the state every node must see the same: each kind's link to them. */
export interface ReplicatedOwners {
  keys: Replica<StoredApiKey>;
  users: Replica<StoredUser>;
  tenants: Replica<StoredTenant>;
  savedQueries: Replica<{ query: SavedQuery; deleted: boolean }>;
  /** Absent when alerting is off on this node. */
  ruleGroups?: Replica<StoredRuleGroup & { deleted: boolean }>;
  silences?: Replica<Silence>;
  legalHolds: Replica<VersionedHold>;
  /** Erasure requests as filed, cancelled or executed: every node executes each on its own copy. */
  erasures: Replica<ErasureRequest>;
  /** Every node's checkpoint verifier key, and this node's own to publish. */
  signingKeys: { replica: Replica<PublishedKey>; own: PublishedKey };
  /** UI sessions' events, and how long a session lives at most; absent when the UI is off. */
  sessions?: { replica: Replica<SessionEvent>; limits: { maxAgeMs: number } };
  /** The login throttle: from now on it counts failed authentications with every other node. */
  loginThrottle: { settings: { login_failure_window_ms: number }; shareWith: (shared: SharedFailures) => void };
}

/** A bucket just created may have no leader yet for a moment (no responders): the key is put again until it is published. */
async function publishOwnKey(keys: ReplicatedOwners['signingKeys'], tries = 60): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await keys.replica.send(keys.own);
    } catch (error) {
      if (attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * Replicates every kind of server-side state a request on another node
 * would otherwise find stale (a revoked key, a disabled user or tenant, a
 * rule group, a silence, a saved query, a legal hold, an erasure request, a UI session's login and logout):
 * one JetStream key-value bucket per kind, all through the same mechanism
 * (replicatedState.ts); failed authentications are counted in one bucket by
 * every node (sharedLoginFailures.ts). Resolves once every bucket's current
 * content is applied on this node.
 */
export async function replicateState(connection: NatsConnection, config: ClusterConfig, owners: ReplicatedOwners, logger: Logger) {
  const start = <T>(bucket: string, keyOf: (value: T) => string, replica: Replica<T> | undefined) =>
    replica ? replicateKind(connection, config, { bucket, keyOf, replica }, logger) : undefined;
  await Promise.all([
    start('meshlog_api_keys', (key) => `key.${key.id}`, owners.keys),
    start('meshlog_users', (user) => bucketKey(user.name), owners.users),
    start('meshlog_tenants', (tenant) => bucketKey(tenant.name), owners.tenants),
    start('meshlog_saved_queries', ({ query }) => bucketKey(query.tenant, query.id), owners.savedQueries),
    start('meshlog_rule_groups', (group) => bucketKey(group.tenant, group.namespace, group.name), owners.ruleGroups),
    start('meshlog_silences', (silence) => bucketKey(silence.tenant, silence.id), owners.silences),
    start('meshlog_legal_holds', (hold) => bucketKey(hold.id), owners.legalHolds),
    start('meshlog_erasure_requests', (request) => bucketKey(request.id), owners.erasures),
    // Keyed by the key itself: a node whose key changed keeps its old key published, for the seals it signed with it.
    replicateKind(
      connection,
      config,
      { bucket: 'meshlog_signing_keys', keyOf: (key) => bucketKey(key.verifierKey), replica: owners.signingKeys.replica },
      logger,
    ).then(() => {
      // In the background: the start does not wait for it (a seal of this node is refused elsewhere only until it lands).
      void publishOwnKey(owners.signingKeys).catch((error: unknown) =>
        logger.error({ reason: (error as Error).message }, 'signing key not published: other nodes refuse this node’s seals'),
      );
    }),
    // A session's creation, its latest use and its end under three keys: a node that starts later gets all three.
    owners.sessions &&
      replicateKind(
        connection,
        config,
        {
          bucket: 'meshlog_sessions',
          keyOf: (event) => `${event.idHash}.${event.ended !== undefined ? 'ended' : event.identity !== undefined ? 'created' : 'seen'}`,
          replica: owners.sessions.replica,
          maxAgeMs: owners.sessions.limits.maxAgeMs,
        },
        logger,
      ),
    sharedLoginFailures(connection, config, owners.loginThrottle.settings.login_failure_window_ms, logger).then((shared) =>
      owners.loginThrottle.shareWith(shared),
    ),
  ]);
}
