import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import type { MeshlogConfig } from '../../../config/schema.js';
import type { MeshlogError } from '../../../errors.js';
import { forwardExtensionCodec, forwardMessage } from './fluentForward.js';
import { watchEncodedSurrogates, wellFormedValue } from '../../../formats/wellFormedText.js';
import { registerSecret } from '../../../observability/credentialScrubber.js';
import type { Identity } from '../../../security/identity.js';
import { countBytes, receiveRestamped } from '../../distributor.js';
import type { IngestContext } from '../../ingestContext.js';
import type { Listener } from '../../listener.js';
import { connectionTenant } from '../shared/connectionTenant.js';
import { ForwardHandshake } from './forwardHandshake.js';
import { ConnectionPacing, isRateLimited, submitWithRetry } from '../shared/streamBackpressure.js';
import { TcpListener, type Connection } from '../shared/tcpListener.js';

const receiver = 'forward';
/** Chunks of one connection being committed at once; more waits (backpressure on the socket). */
const maxPendingChunks = 8;

/** Whoever proves the shared key: one credential, so one ingest rate bucket for all its clients. */
const sharedKeyIdentity: Identity = {
  id: 'forward-shared-key',
  name: 'forward shared key',
  kind: 'shared_key',
  roles: ['ingester'],
  tenants: [],
};

const userIdentity = (username: string, tenant: string): Identity => ({
  id: `forward-user:${username}`,
  name: `forward user ${username}`,
  kind: 'forward_user',
  roles: ['ingester'],
  tenants: [tenant],
});

/**
 * Fluentd forward on TCP (or TLS): msgpack messages decoded as they stream in,
 * committed, then acknowledged with `{"ack": chunk}` when the client asked.
 * Without an ack (commit failed, overload, over the rate limit) the client
 * resends the chunk; a chunk that asked for no ack is never refused, only
 * delayed (TCP backpressure).
 */
export function forwardListener(config: MeshlogConfig['forward'], host: string, ctx: IngestContext): Listener {
  const options = { tenant: config.tenant, receiver, maxDecompressedBytes: ctx.maxDecompressedBytes };
  const serverHostname = hostname();
  const users = new Map(config.users.map((user) => [user.username, readFileSync(user.password_file, 'utf8').trim()]));
  const userTenants = new Map(config.users.map((user) => [user.username, user.tenant]));
  // Found verbatim in anything meshlog writes, should a client ever send them in the clear.
  registerSecret(config.shared_key);
  for (const password of users.values()) registerSecret(password);

  async function serve(connection: Connection): Promise<void> {
    const { socket, logger, stopping, identity: certificate } = connection;
    const address = socket.remoteAddress ?? '';
    let tenant: string;
    try {
      tenant = connectionTenant(certificate, config.tls, config.tenant);
    } catch (error) {
      // A certificate outside tls.client_identities: refused, audited and counted like any failed credential.
      logger.info({ reason: (error as Error).message }, 'forward connection refused: client certificate not allowed to ingest');
      const event = {
        action: (error as MeshlogError).code === 'ML_AUTH_INVALID' ? 'auth.failure' : 'access.denied',
        actor: certificate,
        target: 'forward',
        detail: { reason: (error as Error).message, protocol: 'forward', method: 'client_certificate' },
      };
      // Only a certificate no identity maps is a failed credential; one mapped without ingest is an access denial.
      if ((error as MeshlogError).code === 'ML_AUTH_INVALID') await ctx.authFailures?.failed(address, event);
      else await ctx.authFailures?.denied(address, event);
      return;
    }
    const connectionOptions = { ...options, tenant };
    // The credential whose ingest rate this connection spends: its client certificate, else its user, else the shared key.
    let identity = certificate ?? (config.shared_key === undefined ? undefined : sharedKeyIdentity);
    const handshake = config.shared_key === undefined ? undefined : new ForwardHandshake(config.shared_key, serverHostname, users);
    if (handshake) socket.write(encode(handshake.helo()));
    let authenticated = handshake === undefined;
    const pacing = new ConnectionPacing(ctx, connection, 'forward', maxPendingChunks);
    const limits = { maxStrLength: ctx.maxDecompressedBytes, maxBinLength: ctx.maxDecompressedBytes };
    try {
      // destroyOnReturn: false keeps the socket writable for acks after the client half-closes.
      const bytes = socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
      // msgpack's decoder turns CESU-8 bytes into lone surrogates: messages after such bytes are made well-formed.
      const encodedSurrogate = { value: false };
      for await (const message of decodeMultiStream(watchEncodedSurrogates(bytes, encodedSurrogate), {
        extensionCodec: forwardExtensionCodec,
        ...limits,
      })) {
        if (stopping()) break;
        if (!authenticated) {
          // An address that failed too often is refused unchecked (the PONG says so), as on every authentication path.
          const wait = ctx.authFailures?.throttle.waitMs(address) ?? 0;
          if (wait > 0) {
            socket.write(
              encode(['PONG', false, `too many failed authentications: retry in ${Math.ceil(wait / 1000)} s`, serverHostname, '']),
            );
            logger.info(
              { retryAfterSeconds: Math.ceil(wait / 1000) },
              'forward handshake refused unchecked: too many failed authentications from this address',
            );
            return;
          }
          const { pong, accepted, reason, username } = handshake!.answer(message);
          socket.write(encode(pong));
          if (!accepted) {
            logger.info({ reason }, `forward handshake refused: ${reason}`);
            const user =
              Array.isArray(message) && (typeof message[4] === 'string' || message[4] instanceof Uint8Array)
                ? Buffer.from(message[4]).toString('utf8').slice(0, 200)
                : undefined;
            await ctx.authFailures?.failed(address, {
              action: 'auth.failure',
              target: 'forward',
              detail: {
                reason,
                protocol: 'forward',
                method: reason.startsWith('username') ? 'username' : 'shared_key',
                ...(user ? { username: user } : {}),
              },
            });
            return;
          }
          authenticated = true;
          // A mapped client certificate stays the credential; otherwise the user is, with its tenant.
          if (username !== undefined && !certificate) {
            connectionOptions.tenant = userTenants.get(username)!;
            identity = userIdentity(username, connectionOptions.tenant);
          }
          continue;
        }
        // nil is a keepalive some clients send on idle connections.
        if (message === null) continue;
        const { records, chunk } = forwardMessage(encodedSurrogate.value ? wellFormedValue(message) : message, connectionOptions);
        receiveRestamped(ctx, receiver, records);
        // A chunk that asked for an ack and is over its credential's rate is refused by not acknowledging it.
        if (identity && chunk !== undefined) {
          try {
            ctx.rateLimits?.ingestRequest(identity);
          } catch (error) {
            if (!isRateLimited(error)) throw error;
            ctx.metrics.recordsRejected.inc({ receiver, reason: 'rate_limited' }, records.length);
            logger.warn(
              { chunk, records: records.length, reason: error.message },
              'forward chunk over its ingest rate limit; not acknowledged (the client resends it)',
            );
            continue;
          }
        }
        // One without cannot be resent: it waits for its turn (reading paused: TCP backpressure), as it waits out a full queue.
        await pacing.submit(
          chunk === undefined ? identity : undefined,
          async () => {
            if (chunk === undefined) return submitWithRetry(ctx, records, receiver, stopping);
            await ctx.submit(records, receiver);
            if (!socket.destroyed) socket.write(encode({ ack: chunk }));
          },
          (error) => {
            ctx.metrics.recordsRejected.inc({ receiver, reason: 'commit' }, records.length);
            logger.warn(
              { chunk, records: records.length, reason: (error as Error).message },
              'forward chunk not committed; not acknowledged',
            );
          },
        );
      }
    } finally {
      // Acks for what was already read still go out before the connection ends.
      await pacing.settled();
      countBytes(ctx, receiver, socket.bytesRead);
    }
  }

  return new TcpListener('forward', { host, port: config.port, tls: config.tls, limits: ctx.connectionLimits }, ctx.logger, serve);
}
